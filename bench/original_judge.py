"""The canary judge as it was before issue 13, kept only as the judge bench's baseline.

Copied unchanged from ``src/riskctl/analysis/verdict.py`` at commit cc4e27c (unpaired Fisher and
Mann–Whitney at alpha on every look, the both-sides stall excuse, min_samples as the only sample
requirement), so ``bench/bench_judge.py`` can print its error rates beside the new judge's on the
same simulated data. Never import this from src/.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from riskctl.analysis.statistics import (
    ErrorRateTest,
    LatencyTest,
    compare_error_rates,
    compare_latencies,
)


class Phase(enum.StrEnum):
    """Analysis phases (Argo Rollouts' names)."""

    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"


#: Latency samples per side before p99s are compared with each other.
P99_MIN_SAMPLES = 200
#: Requests over the latency ceiling needed before the ceiling fails a canary.
CEILING_MIN_SLOW = 3
#: Both sides stalled "alike": the canary's share of requests over the ceiling is at most this
#: multiple of the baseline's, plus this margin (and not significantly larger).
STALL_SHARE_RATIO = 1.5
STALL_SHARE_MARGIN = 0.01


@dataclass(frozen=True, slots=True)
class AnalysisPolicy:
    """Thresholds of one analysis (from ``delivery.toml``)."""

    min_samples: int = 200  # canary requests needed before deciding
    alpha: float = 0.01  # significance level of the one-sided tests
    max_error_rate: float = 0.05  # absolute ceiling on the canary's error rate
    max_error_increase: float = 0.01  # material increase over the baseline's rate
    max_latency_ratio: float = 1.5  # canary p50 or p99 over the baseline's
    # ... and by at least this much in absolute terms: a 2 ms service 1.5 ms slower on a busy
    # host is significant to Mann-Whitney but not to anyone waiting for a VaR figure.
    min_latency_increase_s: float = 0.010
    max_p99_seconds: float = 2.0  # absolute ceiling on the canary's p99


@dataclass(frozen=True, slots=True)
class Observation:
    """What was seen of both sides during one analysis window."""

    canary_requests: int
    canary_errors: int
    baseline_requests: int
    baseline_errors: int
    canary_latencies: Sequence[float] = ()
    baseline_latencies: Sequence[float] = ()
    canary_crashed: bool = False


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


def assess(observation: Observation, policy: AnalysisPolicy, *, final: bool = True) -> Verdict:
    """Decide on one window. With ``final=False`` too few samples give Running, else Inconclusive.

    A crashed canary fails at once, whatever the sample.
    """
    o = observation
    errors = compare_error_rates(
        o.canary_errors, o.canary_requests, o.baseline_errors, o.baseline_requests
    )
    latency = compare_latencies(o.canary_latencies, o.baseline_latencies)
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
    if errors.p_value < policy.alpha and increase > policy.max_error_increase:
        failures.append(
            f"canary error rate {_fmt_pct(errors.canary_rate)} vs baseline "
            f"{_fmt_pct(errors.baseline_rate)} (+{_fmt_pct(increase)}, Fisher p = "
            f"{errors.p_value:.2g} < {policy.alpha})"
        )
    if latency.canary_samples and latency.baseline_samples:

        def slower(canary: float, baseline: float) -> bool:
            return (
                canary > policy.max_latency_ratio * baseline
                and canary - baseline > policy.min_latency_increase_s
            )

        slow_p50 = slower(latency.canary_p50, latency.baseline_p50)
        # A p99 of fewer than ~200 requests is one or two requests (a cold start, a GC
        # pause): compare tails only when both sides have enough of them.
        tails = min(latency.canary_samples, latency.baseline_samples) >= P99_MIN_SAMPLES
        slow_p99 = tails and slower(latency.canary_p99, latency.baseline_p99)
        if latency.p_value < policy.alpha and (slow_p50 or slow_p99):
            failures.append(
                f"canary latency p50 {latency.canary_p50 * 1e3:.1f} ms / p99 "
                f"{latency.canary_p99 * 1e3:.1f} ms vs baseline "
                f"{latency.baseline_p50 * 1e3:.1f} / {latency.baseline_p99 * 1e3:.1f} ms "
                f"(> {policy.max_latency_ratio:g}x and > +"
                f"{policy.min_latency_increase_s * 1e3:g} ms, Mann-Whitney p = "
                f"{latency.p_value:.2g})"
            )
    # "p99 above the ceiling" means more than 1 % of requests slower than it; with a small
    # sample that could be one stall, so it also takes CEILING_MIN_SLOW such requests. It fails
    # the canary unless the baseline, measured as fully, had as many over it: a stall of the host
    # or of the load generator delays both sides alike. Such a window proves nothing either way
    # (a canary starving its host would look the same), so it is Inconclusive and ``stalled``:
    # the runner measures again, and a stall that persists pauses the rollout for a person.
    stall: str | None = None
    ceiling = policy.max_p99_seconds
    slow = sum(1 for x in o.canary_latencies if x > ceiling)
    if (
        latency.canary_samples >= policy.min_samples
        and slow >= CEILING_MIN_SLOW
        and slow > 0.01 * latency.canary_samples
    ):
        base_slow = sum(1 for x in o.baseline_latencies if x > ceiling)
        shares = compare_error_rates(
            slow, latency.canary_samples, base_slow, latency.baseline_samples
        )
        metrics["canary_over_ceiling"] = float(slow)
        metrics["baseline_over_ceiling"] = float(base_slow)
        canary_share = slow / latency.canary_samples
        base_share = base_slow / max(latency.baseline_samples, 1)
        alike = (
            latency.baseline_samples >= policy.min_samples
            and shares.p_value >= policy.alpha
            and canary_share <= STALL_SHARE_RATIO * base_share + STALL_SHARE_MARGIN
        )
        baseline = (
            f"baseline {base_slow} of {latency.baseline_samples}, Fisher p = {shares.p_value:.2g}"
        )
        if alike:
            stall = (
                f"requests over the {ceiling * 1e3:.0f} ms ceiling on both sides alike (canary "
                f"{slow} of {latency.canary_samples}, {baseline}): a stall of the host or the "
                "load, not evidence either way"
            )
        else:
            failures.append(
                f"canary p99 {latency.canary_p99 * 1e3:.0f} ms above the ceiling "
                f"{ceiling * 1e3:.0f} ms ({slow} of {latency.canary_samples} requests slower; "
                f"{baseline})"
            )
    if failures:
        return verdict(Phase.FAILED, failures)
    if stall is not None:
        return replace(verdict(Phase.INCONCLUSIVE, [stall]), stalled=True)

    if o.canary_requests < policy.min_samples or o.baseline_requests < policy.min_samples:
        reason = (
            f"not enough traffic yet: canary {o.canary_requests}, baseline "
            f"{o.baseline_requests} requests (need {policy.min_samples} each)"
        )
        return verdict(Phase.RUNNING if not final else Phase.INCONCLUSIVE, [reason])

    return verdict(
        Phase.SUCCESSFUL,
        [
            f"error rate {_fmt_pct(errors.canary_rate)} vs baseline "
            f"{_fmt_pct(errors.baseline_rate)} (Fisher p = {errors.p_value:.2g})",
            f"latency p50 {latency.canary_p50 * 1e3:.1f} ms / p99 {latency.canary_p99 * 1e3:.1f} ms"
            f" vs baseline {latency.baseline_p50 * 1e3:.1f} / {latency.baseline_p99 * 1e3:.1f} ms",
        ],
    )


__all__ = ["AnalysisPolicy", "Observation", "Phase", "Verdict", "assess"]
