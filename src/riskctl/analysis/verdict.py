"""The analysis decision: observations of canary and baseline in, a verdict with reasons out.

Phases follow Argo Rollouts' AnalysisRun: Successful, Failed, Inconclusive (too little data, or
evidence in neither direction — the rollout pauses and people are told), plus Running while
samples are still being gathered. Fixed ceilings catch the obvious; the baseline comparison
catches the relative; both need significance *and* a material effect, so noise alone never
fails a release and a real regression is not excused by a noisy baseline.

How the false-abort rate is held (issue 13; measured by ``bench/bench_judge.py``):

* the canary is compared with the baseline *of the same intervals* (see
  :mod:`riskctl.analysis.evidence`), so a stall hitting both sides cancels;
* the three tests of a look (errors, latency, requests over the ceiling) are one family, Holm
  corrected;
* a window is looked at many times (a failure is acted on at once), so looks spend alpha: every
  look before the decision may fail only at ``alpha * INTERIM_ALPHA_SHARE / looks`` (a
  Haybittle–Peto boundary, Bonferroni-bounded), the deciding look has the rest;
* significance alone never fails: the effect must be material too (Kayenta's effect size);
* silence is not a pass until the canary has the samples needed to catch the policy's smallest
  effect worth catching (:mod:`riskctl.analysis.sample_size`): "Inconclusive: n of m samples".

A latency ceiling breached on both sides alike is a host or load stall: in the intervals it hit,
the pairing cancels it and the rest decide; a stall over most of the window proves nothing either
way (a canary starving its host looks the same), so that window is Inconclusive and ``stalled``,
and the runner measures it again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from riskctl.analysis.evidence import Evidence, gather, holm
from riskctl.analysis.phase import Phase
from riskctl.analysis.sample_size import (
    error_increase_excluded,
    error_samples,
    exclusion_samples,
    latency_samples,
)
from riskctl.analysis.statistics import (
    ErrorRateTest,
    LatencyTest,
    check_counts,
)

#: Latency samples per side before p99s are compared with each other.
P99_MIN_SAMPLES = 200
#: Requests over the latency ceiling needed before the ceiling fails a canary.
CEILING_MIN_SLOW = 3
#: Share of alpha the looks before the deciding one may spend between them.
INTERIM_ALPHA_SHARE = 0.2
#: Tests in one look's family (errors, latency, the ceiling).
HYPOTHESES = 3
#: A stall confined to intervals holding less than this share of the canary's latencies is
#: cancelled by the pairing; a larger one leaves too little clean evidence to decide on.
STALL_MAX_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class AnalysisPolicy:
    """Thresholds of one analysis (from ``delivery.toml``)."""

    min_samples: int = 200  # canary requests needed before deciding
    alpha: float = 0.01  # false-abort level of one window (all its tests and looks)
    max_error_rate: float = 0.05  # absolute ceiling on the canary's error rate
    max_error_increase: float = 0.01  # material increase over the baseline's rate
    max_latency_ratio: float = 1.5  # canary p50 or p99 over the baseline's
    # ... and by at least this much in absolute terms: a 2 ms service 1.5 ms slower on a busy
    # host is significant to Mann-Whitney but not to anyone waiting for a VaR figure.
    min_latency_increase_s: float = 0.010
    max_p99_seconds: float = 2.0  # absolute ceiling on the canary's p99
    # The smallest defects worth catching, and the chance to catch them, size the sample.
    detect_error_increase: float = 0.10
    detect_latency_ratio: float = 1.5
    power: float = 0.9
    # Looks before the deciding one that may fail early (0: the window is looked at once).
    looks: int = 0


@dataclass(frozen=True, slots=True)
class Observation:
    """What was seen of both sides during one analysis window.

    ``slices``: the same window's per-request data split by the interval it was measured in
    (each an Observation without slices), so the comparison can pair the intervals.
    """

    canary_requests: int
    canary_errors: int
    baseline_requests: int
    baseline_errors: int
    canary_latencies: Sequence[float] = ()
    baseline_latencies: Sequence[float] = ()
    canary_crashed: bool = False
    slices: tuple[Observation, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision, the numbers behind it and every reason in words."""

    phase: Phase
    reasons: tuple[str, ...]
    errors: ErrorRateTest
    latency: LatencyTest
    metrics: dict[str, float] = field(default_factory=dict)
    # Inconclusive because both sides stalled alike: the window is worth measuring again.
    stalled: bool = False

    def summary(self) -> str:
        """One line for status displays and the audit trail."""
        return f"{self.phase.value}: " + "; ".join(self.reasons)


def _fmt_pct(x: float) -> str:
    return f"{x * 100:.2f} %"


def look_alpha(policy: AnalysisPolicy, *, interim: bool) -> float:
    """The level one look's family is tested at (see the module docstring)."""
    if policy.looks <= 0:
        return policy.alpha
    if interim:
        return policy.alpha * INTERIM_ALPHA_SHARE / policy.looks
    return policy.alpha * (1 - INTERIM_ALPHA_SHARE)


def samples_needed(o: Observation, ev: Evidence, policy: AnalysisPolicy) -> tuple[int, int, int]:
    """(needed, for errors, for latency): canary requests the window needs to decide.

    Errors: the fewer of the requests to catch the smallest increase worth catching with the
    policy's power, and the requests after which, at the rates seen, that increase would be
    excluded (at most those seen once it is); latency: the requests to catch the smallest
    slowdown worth catching.
    """
    alpha = look_alpha(policy, interim=False) / HYPOTHESES
    ratio = o.baseline_requests / o.canary_requests if o.canary_requests else 1.0
    ratio = max(ratio, 0.01)
    base_rate = o.baseline_errors / o.baseline_requests if o.baseline_requests else 0.0
    base_rate = min(base_rate, 0.99)
    canary_rate = o.canary_errors / o.canary_requests if o.canary_requests else base_rate
    for_errors = error_samples(
        base_rate, policy.detect_error_increase, alpha=alpha, power=policy.power, ratio=ratio
    )
    sooner = exclusion_samples(
        canary_rate, base_rate, policy.detect_error_increase, alpha=alpha, ratio=ratio
    )
    if sooner is not None:
        for_errors = min(for_errors, sooner)
    if error_increase_excluded(
        (o.canary_errors, o.canary_requests),
        (o.baseline_errors, o.baseline_requests),
        policy.detect_error_increase,
        alpha=alpha,
    ):
        for_errors = min(for_errors, o.canary_requests)  # already enough
    for_latency = 0
    if math.isfinite(ev.log_sd) and math.isfinite(ev.baseline_p50) and ev.baseline_p50 > 0:
        # A slowdown is worth catching only if it would be material: on a 2 ms service 1.5x is
        # +1 ms, below the policy's absolute floor, so the smallest one worth catching is larger.
        worth = max(
            policy.detect_latency_ratio,
            policy.max_latency_ratio,
            1 + policy.min_latency_increase_s / ev.baseline_p50,
        )
        for_latency = latency_samples(
            ev.log_sd, worth, alpha=alpha, power=policy.power, ratio=ratio
        )
    return max(policy.min_samples, for_errors, for_latency), for_errors, for_latency


def _test(ev: Evidence, paired: bool, exact: str) -> str:
    return f"{exact} paired by {ev.intervals} intervals" if paired else exact


def assess(
    observation: Observation, policy: AnalysisPolicy, *, final: bool = True, interim: bool = False
) -> Verdict:
    """Decide on one window. With ``final=False`` too few samples give Running, else Inconclusive.

    ``interim``: a look before the window's end (it may fail, at the interim level, and otherwise
    says Running). A crashed canary fails at once, whatever the sample.
    """
    o = observation
    ev = gather(o, policy.max_p99_seconds)
    counts = (o.canary_errors, o.canary_requests, o.baseline_errors, o.baseline_requests)
    check_counts(*counts)
    errors = ErrorRateTest(*counts, p_value=ev.error_p)
    latency = _latency(o, ev.latency_p)
    needed, for_errors, for_latency = samples_needed(o, ev, policy)
    short = o.canary_requests < needed or o.baseline_requests < policy.min_samples
    alpha = look_alpha(policy, interim=interim or (short and not final))
    error_adj, latency_adj, slow_adj = holm([ev.error_p, ev.latency_p, ev.slow_p])
    metrics = {
        "canary_requests": float(o.canary_requests),
        "baseline_requests": float(o.baseline_requests),
        "canary_error_rate": errors.canary_rate,
        "baseline_error_rate": errors.baseline_rate,
        "error_p_value": errors.p_value,
        "canary_p50_ms": latency.canary_p50 * 1e3,
        "canary_p99_ms": latency.canary_p99 * 1e3,
        "baseline_p50_ms": latency.baseline_p50 * 1e3,
        "baseline_p99_ms": latency.baseline_p99 * 1e3,
        "latency_p_value": latency.p_value,
        "latency_p50_ratio": ev.p50_ratio,
        "latency_p99_ratio": ev.p99_ratio,
        "paired_intervals": float(ev.intervals),
        "alpha_look": alpha,
        "samples_needed": float(needed),
        "samples_needed_errors": float(for_errors),
        "samples_needed_latency": float(for_latency),
    }

    def verdict(phase: Phase, reasons: list[str]) -> Verdict:
        return Verdict(phase, tuple(reasons), errors, latency, metrics)

    if o.canary_crashed:
        return verdict(Phase.FAILED, ["canary instance crashed or stopped answering"])

    failures: list[str] = []
    # Ceilings need no baseline, but a handful of requests could still all fail by bad luck:
    # require a minimum of errors too, not just a rate.
    if o.canary_requests and errors.canary_rate > policy.max_error_rate and o.canary_errors >= 5:
        failures.append(
            f"canary error rate {_fmt_pct(errors.canary_rate)} above the ceiling "
            f"{_fmt_pct(policy.max_error_rate)} ({o.canary_errors}/{o.canary_requests})"
        )
    increase = errors.canary_rate - errors.baseline_rate
    if error_adj < alpha and increase > policy.max_error_increase:
        failures.append(
            f"canary error rate {_fmt_pct(errors.canary_rate)} vs baseline "
            f"{_fmt_pct(errors.baseline_rate)} (+{_fmt_pct(increase)}, "
            f"{_test(ev, ev.errors_paired, 'Fisher')} p = {errors.p_value:.2g}, Holm "
            f"{error_adj:.2g} < {alpha:.2g})"
        )
    if latency_adj < alpha and _slower(ev, latency, policy):
        failures.append(
            f"canary latency p50 {latency.canary_p50 * 1e3:.1f} ms / p99 "
            f"{latency.canary_p99 * 1e3:.1f} ms vs baseline "
            f"{latency.baseline_p50 * 1e3:.1f} / {latency.baseline_p99 * 1e3:.1f} ms "
            f"(x{ev.p50_ratio:.2f} at p50, x{ev.p99_ratio:.2f} at p99 > "
            f"{policy.max_latency_ratio:g}x and > +{policy.min_latency_increase_s * 1e3:g} ms, "
            f"{_test(ev, ev.intervals > 1, 'Mann-Whitney')} p = {latency.p_value:.2g}, Holm "
            f"{latency_adj:.2g} < {alpha:.2g})"
        )
    # "p99 above the ceiling" means more than 1 % of requests slower than it; with a small
    # sample that could be one stall, so it also takes CEILING_MIN_SLOW such requests. It fails
    # the canary unless the baseline, measured as fully and over the same intervals, had as many
    # over it (not significantly fewer): a stall of the host or of the load delays both sides.
    stall: str | None = None
    confined: str | None = None
    ceiling = policy.max_p99_seconds
    slow = ev.canary_slow
    if (
        latency.canary_samples >= policy.min_samples
        and slow >= CEILING_MIN_SLOW
        and slow > 0.01 * latency.canary_samples
    ):
        metrics["canary_over_ceiling"] = float(slow)
        metrics["baseline_over_ceiling"] = float(ev.baseline_slow)
        metrics["canary_expected_over_ceiling"] = ev.expected_slow  # at the baseline's share
        # The baseline must have been measured about as fully (a canary slow on every request
        # is not excused by a baseline of two slow requests); half the canary's count allows for
        # an even split whose sides' answers arrive a little apart.
        measured = min(policy.min_samples, latency.canary_samples / 2)
        alike = latency.baseline_samples >= measured and slow_adj >= alpha
        baseline = (
            f"baseline {ev.baseline_slow} of {latency.baseline_samples}, "
            f"{_test(ev, ev.intervals > 1, 'Fisher')} p = {ev.slow_p:.2g}"
        )
        alike_text = (
            f"requests over the {ceiling * 1e3:.0f} ms ceiling on both sides alike (canary "
            f"{slow} of {latency.canary_samples}, {baseline}): a stall of the host or the "
            "load, not evidence either way"
        )
        if not alike:
            failures.append(
                f"canary p99 {latency.canary_p99 * 1e3:.0f} ms above the ceiling "
                f"{ceiling * 1e3:.0f} ms ({slow} of {latency.canary_samples} requests slower; "
                f"{baseline})"
            )
        elif ev.intervals > 1 and ev.clean_share >= 1 - STALL_MAX_SHARE:
            # Confined to some intervals: cancelled by the pairing, the others decide.
            confined = alike_text + " (cancelled interval by interval)"
        else:
            stall = alike_text
    if failures:
        return verdict(Phase.FAILED, failures)
    if stall is not None:
        return replace(verdict(Phase.INCONCLUSIVE, [stall]), stalled=True)

    count = f"{o.canary_requests} of {needed} samples"
    if short:
        reason = (
            f"{count}: not enough traffic yet (canary {o.canary_requests}, baseline "
            f"{o.baseline_requests} requests; need {needed} and {policy.min_samples}, to catch "
            f"+{_fmt_pct(policy.detect_error_increase)} errors or x{policy.detect_latency_ratio:g}"
            f" latency with {policy.power:.0%} power; {_test(ev, ev.errors_paired, 'Fisher')}"
            f" p = {errors.p_value:.2g})"
        )
        return verdict(Phase.RUNNING if not final else Phase.INCONCLUSIVE, [reason])
    if interim:
        return verdict(Phase.RUNNING, [f"{count}; no failure at the interim level {alpha:.2g}"])

    reasons = [
        f"error rate {_fmt_pct(errors.canary_rate)} vs baseline "
        f"{_fmt_pct(errors.baseline_rate)} ({_test(ev, ev.errors_paired, 'Fisher')} p = "
        f"{errors.p_value:.2g})",
        f"latency p50 {latency.canary_p50 * 1e3:.1f} ms / p99 {latency.canary_p99 * 1e3:.1f} ms"
        f" vs baseline {latency.baseline_p50 * 1e3:.1f} / {latency.baseline_p99 * 1e3:.1f} ms",
        count,
    ]
    if confined:
        reasons.append(confined)
    return verdict(Phase.SUCCESSFUL, reasons)


def _latency(o: Observation, p_value: float) -> LatencyTest:
    """Both sides' p50/p99 over the whole window (for the report) with the paired p-value."""
    c = np.asarray(o.canary_latencies, dtype=np.float64)
    b = np.asarray(o.baseline_latencies, dtype=np.float64)
    if c.size == 0 or b.size == 0:
        nan = float("nan")
        return LatencyTest(nan, nan, nan, nan, 1.0, int(c.size), int(b.size))
    return LatencyTest(
        canary_p50=float(np.quantile(c, 0.5)),
        canary_p99=float(np.quantile(c, 0.99)),
        baseline_p50=float(np.quantile(b, 0.5)),
        baseline_p99=float(np.quantile(b, 0.99)),
        p_value=p_value,
        canary_samples=int(c.size),
        baseline_samples=int(b.size),
    )


def _slower(ev: Evidence, latency: LatencyTest, policy: AnalysisPolicy) -> bool:
    """A material slowdown: the paired ratio over the policy's, and by more than its floor."""
    if not latency.canary_samples or not latency.baseline_samples:
        return False

    def material(ratio: float, baseline: float) -> bool:
        return (
            ratio > policy.max_latency_ratio
            and (ratio - 1) * baseline > policy.min_latency_increase_s
        )

    # A p99 of fewer than ~200 requests is one or two requests (a cold start, a GC pause):
    # compare tails only when both sides have enough of them.
    tails = min(latency.canary_samples, latency.baseline_samples) >= P99_MIN_SAMPLES
    return material(ev.p50_ratio, ev.baseline_p50) or (
        tails and material(ev.p99_ratio, ev.baseline_p99)
    )


__all__ = [
    "HYPOTHESES",
    "INTERIM_ALPHA_SHARE",
    "AnalysisPolicy",
    "Observation",
    "Phase",
    "Verdict",
    "assess",
    "look_alpha",
    "samples_needed",
]
