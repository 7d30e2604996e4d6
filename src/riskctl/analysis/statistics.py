"""Baseline comparisons that work with few events.

* Error rate: Fisher's exact test, one-sided (canary worse than baseline). Exact, so it stays
  valid with sparse errors where a normal-approximation two-proportion z-test is not (Agresti,
  *Categorical Data Analysis*, 3rd ed., §3.5).
* Latency: the Mann–Whitney U test, one-sided (canary stochastically slower), on per-request
  latencies, with the p50/p99 of both sides for the report (Mann & Whitney, 1947).
* Paired by time slice (the canary and the baseline measured over the same intervals, so a host
  stall that hits both sides at once cancels): the exact conditional test of a 2×2×K table
  (events hypergeometric within each interval, summed over intervals: Agresti, *Categorical Data
  Analysis*, 3rd ed., the exact test of conditional independence; with one interval it *is*
  Fisher's one-sided test), and van Elteren's stratified Wilcoxon test (van Elteren, 1960, "On
  the combination of independent two-sample tests of Wilcoxon", Bull. ISI 37: 351–361; with one
  interval it is the Mann–Whitney test in its normal approximation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

# scipy.stats is imported where a test runs, not with the module: it takes about half a second,
# and every riskctl command (`riskctl abort` above all) imports the analysis package.


@dataclass(frozen=True, slots=True)
class ErrorRateTest:
    """Canary vs baseline error counts and the one-sided exact p-value."""

    canary_errors: int
    canary_total: int
    baseline_errors: int
    baseline_total: int
    p_value: float

    @property
    def canary_rate(self) -> float:
        """Canary error rate (0 when there were no requests)."""
        return self.canary_errors / self.canary_total if self.canary_total else 0.0

    @property
    def baseline_rate(self) -> float:
        """Baseline error rate (0 when there were no requests)."""
        return self.baseline_errors / self.baseline_total if self.baseline_total else 0.0


@dataclass(frozen=True, slots=True)
class LatencyTest:
    """Latency percentiles of both sides (seconds) and the one-sided Mann–Whitney p-value."""

    canary_p50: float
    canary_p99: float
    baseline_p50: float
    baseline_p99: float
    p_value: float
    canary_samples: int
    baseline_samples: int


def check_counts(
    canary_errors: int, canary_total: int, baseline_errors: int, baseline_total: int
) -> None:
    """Refuse negative counts and more errors than requests (ValueError)."""
    for name, value in (
        ("canary_errors", canary_errors),
        ("canary_total", canary_total),
        ("baseline_errors", baseline_errors),
        ("baseline_total", baseline_total),
    ):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if canary_errors > canary_total or baseline_errors > baseline_total:
        raise ValueError("errors cannot exceed requests")


def _average_ranks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks 1..n with ties given their average rank, and the sizes of the tied groups."""
    order = np.argsort(x, kind="mergesort")
    values = x[order]
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    sizes = np.diff(np.r_[starts, values.size])
    average = starts + (sizes + 1) / 2.0  # the mean of ranks start+1 .. start+size
    ranks = np.empty(x.size)
    ranks[order] = np.repeat(average, sizes)
    return ranks, sizes


def compare_error_rates(
    canary_errors: int, canary_total: int, baseline_errors: int, baseline_total: int
) -> ErrorRateTest:
    """One-sided Fisher exact test of "the canary fails more often than the baseline"."""
    check_counts(canary_errors, canary_total, baseline_errors, baseline_total)
    if canary_total == 0 or baseline_total == 0:
        p_value = 1.0
    else:
        table = [
            [canary_errors, canary_total - canary_errors],
            [baseline_errors, baseline_total - baseline_errors],
        ]
        from scipy import stats  # noqa: PLC0415 - see the import note above

        p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return ErrorRateTest(canary_errors, canary_total, baseline_errors, baseline_total, p_value)


def compare_latencies(canary: Sequence[float], baseline: Sequence[float]) -> LatencyTest:
    """One-sided Mann–Whitney U test of "the canary is slower than the baseline"."""
    c = np.asarray(canary, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if c.size == 0 or b.size == 0:
        nan = float("nan")
        return LatencyTest(nan, nan, nan, nan, 1.0, int(c.size), int(b.size))
    from scipy import stats  # noqa: PLC0415 - see the import note above

    p_value = float(stats.mannwhitneyu(c, b, alternative="greater").pvalue)
    return LatencyTest(
        canary_p50=float(np.quantile(c, 0.5)),
        canary_p99=float(np.quantile(c, 0.99)),
        baseline_p50=float(np.quantile(b, 0.5)),
        baseline_p99=float(np.quantile(b, 0.99)),
        p_value=p_value,
        canary_samples=int(c.size),
        baseline_samples=int(b.size),
    )


#: One interval's events: (canary events, canary requests, baseline events, baseline requests).
Stratum = tuple[int, int, int, int]


def stratified_exact_p(strata: Sequence[Stratum]) -> float:
    """One-sided exact p of "the canary's event rate exceeds the baseline's", interval by interval.

    Under the null hypothesis both sides share one rate *within* each interval (rates may differ
    between intervals: a stall raises both), so the canary's events in an interval, given the
    interval's margins, are hypergeometric; the intervals are independent, so the sum is the
    convolution of those laws. An interval one side saw nothing of carries no information.
    """
    law = np.ones(1)
    seen = 0
    for ce, cn, be, bn in strata:
        if min(ce, cn, be, bn) < 0 or ce > cn or be > bn:
            raise ValueError(f"an interval's counts are inconsistent: {(ce, cn, be, bn)}")
        events = ce + be
        if cn == 0 or bn == 0 or events == 0:
            continue
        from scipy import stats  # noqa: PLC0415 - see the import note; only where events are

        lo, hi = max(0, events - bn), min(events, cn)
        part = np.zeros(hi + 1)
        part[lo:] = stats.hypergeom.pmf(np.arange(lo, hi + 1), cn + bn, events, cn)
        law = np.convolve(law, part)
        seen += ce
    return float(min(1.0, max(0.0, law[seen:].sum())))


def van_elteren_p(canary: Sequence[ArrayLike], baseline: Sequence[ArrayLike]) -> float:
    """One-sided p of "the canary is slower", ranks taken within each interval and combined.

    Each interval's rank sum is weighted by 1/(N+1) (van Elteren's locally most powerful
    weights), with the usual correction for ties; the normal approximation, no continuity
    correction. Intervals one side saw nothing of are left out; none left gives 1.
    """
    if len(canary) != len(baseline):
        raise ValueError("canary and baseline must have the same intervals")
    total, variance = 0.0, 0.0
    for c, b in zip(canary, baseline, strict=True):
        cs, bs = np.asarray(c, dtype=np.float64), np.asarray(b, dtype=np.float64)
        n, m = cs.size, bs.size
        if n == 0 or m == 0:
            continue
        size = n + m
        ranks, ties = _average_ranks(np.concatenate([cs, bs]))
        tie_term = float(np.sum(ties.astype(float) ** 3 - ties)) / (size * (size - 1))
        weight = 1.0 / (size + 1)
        total += weight * (float(ranks[:n].sum()) - n * (size + 1) / 2)
        variance += weight**2 * n * m / 12 * ((size + 1) - tie_term)
    if variance <= 0:
        return 1.0
    return 0.5 * math.erfc(total / math.sqrt(2 * variance))  # the normal upper tail


__all__ = [
    "ErrorRateTest",
    "LatencyTest",
    "Stratum",
    "check_counts",
    "compare_error_rates",
    "compare_latencies",
    "stratified_exact_p",
    "van_elteren_p",
]
