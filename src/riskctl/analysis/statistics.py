"""Baseline comparisons that work with few events.

* Error rate: Fisher's exact test, one-sided (canary worse than baseline). Exact, so it stays
  valid with sparse errors where a normal-approximation two-proportion z-test is not (Agresti,
  *Categorical Data Analysis*, 3rd ed., §3.5).
* Latency: the Mann–Whitney U test, one-sided (canary stochastically slower), on per-request
  latencies, with the p50/p99 of both sides for the report (Mann & Whitney, 1947).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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


def compare_error_rates(
    canary_errors: int, canary_total: int, baseline_errors: int, baseline_total: int
) -> ErrorRateTest:
    """One-sided Fisher exact test of "the canary fails more often than the baseline"."""
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


__all__ = ["ErrorRateTest", "LatencyTest", "compare_error_rates", "compare_latencies"]
