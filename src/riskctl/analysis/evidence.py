"""What one window's observations say, interval by interval: the figures a verdict is made of.

An observation may carry its per-request data split into the intervals it was measured in
(``Observation.slices``, one per look of the runner). Each comparison then holds the interval
fixed — the canary against the baseline *of the same seconds* — so a stall of the host, a burst
or a slow load generator that hits both sides at once cancels instead of counting against the
side with fewer samples:

* errors and requests over the latency ceiling: the stratified exact test
  (:func:`~riskctl.analysis.statistics.stratified_exact_p`);
* latency: van Elteren's stratified rank test, and the effect as a ratio of medians (and of
  p99s) after each request is divided by the baseline's median of its interval.

Without slices the window is one interval: Fisher's test and the Mann–Whitney test, as before.
Pure: numbers in, numbers out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from riskctl.analysis.statistics import Stratum, stratified_exact_p, van_elteren_p

if TYPE_CHECKING:
    from riskctl.analysis.verdict import Observation

#: Robust standard deviation of a normal sample from its median absolute deviation.
MAD_TO_SD = 1.4826


@dataclass(frozen=True, slots=True)
class Evidence:
    """Paired figures of one window (latencies in seconds; ratios canary / baseline)."""

    intervals: int  # intervals both sides were seen in (1 without slices)
    error_p: float  # exact, paired when every request and error is in the slices
    errors_paired: bool
    latency_p: float  # van Elteren (Mann–Whitney with one interval)
    p50_ratio: float  # nan without latencies on both sides
    p99_ratio: float
    baseline_p50: float
    baseline_p99: float
    log_sd: float  # robust sd of the baseline's log latencies around its intervals' medians
    canary_slow: int  # requests over the ceiling
    baseline_slow: int
    expected_slow: float  # the canary's count at the baseline's share, interval by interval
    slow_p: float  # exact, paired
    clean_share: float  # share of the canary's latencies in intervals with no baseline stall


def _parts(o: Observation) -> list[Observation]:
    return list(o.slices) if o.slices else [o]


def _error_strata(o: Observation) -> tuple[list[Stratum], bool]:
    """Per-interval error counts when the slices hold every request; else the window's totals.

    Counters (HAProxy, the services' metrics) can see requests the samples did not; they have no
    intervals, so then the errors are compared over the whole window, unpaired.
    """
    parts = _parts(o)
    strata = [
        (p.canary_errors, p.canary_requests, p.baseline_errors, p.baseline_requests) for p in parts
    ]
    totals = tuple(int(sum(s[i] for s in strata)) for i in range(4))
    window = (o.canary_errors, o.canary_requests, o.baseline_errors, o.baseline_requests)
    if len(parts) > 1 and totals == window:
        return strata, True
    return [window], False


def gather(o: Observation, ceiling: float) -> Evidence:
    """The paired figures of ``o`` with ``ceiling`` seconds as the latency ceiling."""
    strata, paired = _error_strata(o)
    parts = _parts(o)
    canary = [np.asarray(p.canary_latencies, dtype=np.float64) for p in parts]
    baseline = [np.asarray(p.baseline_latencies, dtype=np.float64) for p in parts]
    both = [(c, b) for c, b in zip(canary, baseline, strict=True) if c.size and b.size]
    nan = float("nan")
    p50_ratio = p99_ratio = base_p50 = base_p99 = log_sd = nan
    if both:
        # Each request relative to the baseline's median of its own interval.
        medians = [float(np.median(b)) for _, b in both]
        c_rel = np.concatenate([c / max(m, 1e-12) for (c, _), m in zip(both, medians, strict=True)])
        b_rel = np.concatenate([b / max(m, 1e-12) for (_, b), m in zip(both, medians, strict=True)])
        all_base = np.concatenate([b for b in baseline if b.size])
        base_p50 = float(np.quantile(all_base, 0.5))
        base_p99 = float(np.quantile(all_base, 0.99))
        p50_ratio = float(np.median(c_rel) / max(float(np.median(b_rel)), 1e-12))
        p99_ratio = float(np.quantile(c_rel, 0.99) / max(float(np.quantile(b_rel, 0.99)), 1e-12))
        logs = np.log(np.maximum(b_rel, 1e-12))
        log_sd = MAD_TO_SD * float(np.median(np.abs(logs - np.median(logs))))
    latency_p = van_elteren_p([c for c, _ in both], [b for _, b in both]) if both else 1.0

    slow = [
        (int(np.sum(c > ceiling)), int(c.size), int(np.sum(b > ceiling)), int(b.size))
        for c, b in zip(canary, baseline, strict=True)
    ]
    expected = sum(cn * bs / bn for _, cn, bs, bn in slow if bn)
    canary_total = sum(cn for _, cn, _, _ in slow)
    clean = sum(cn for _, cn, bs, bn in slow if bn and bs == 0)
    return Evidence(
        intervals=max(1, len(both)),
        error_p=stratified_exact_p(strata),
        errors_paired=paired,
        latency_p=latency_p,
        p50_ratio=p50_ratio,
        p99_ratio=p99_ratio,
        baseline_p50=base_p50,
        baseline_p99=base_p99,
        log_sd=log_sd,
        canary_slow=sum(s[0] for s in slow),
        baseline_slow=sum(s[2] for s in slow),
        expected_slow=float(expected),
        slow_p=stratified_exact_p(slow),
        clean_share=clean / canary_total if canary_total else 0.0,
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm, 1979): reject where adjusted < alpha.

    Controls the chance of any false rejection among the family at alpha, whatever the tests'
    dependence.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


__all__ = ["Evidence", "gather", "holm"]
