"""How many canary requests an analysis needs before its silence means anything.

A window that found nothing proves little if it could not have found the smallest defect worth
catching. From the baseline's variability and the policy's smallest effect, these give the canary
requests a one-sided test at level ``alpha`` needs to catch that effect with probability ``power``,
when the baseline has ``ratio`` times as many requests:

* errors: the normal approximation for two proportions with unequal groups, without continuity
  correction (Fleiss, Levin & Paik, *Statistical Methods for Rates and Proportions*, 3rd ed.,
  §4.2); with a baseline that never fails it errs on the low side of the exact test's needs;
* latency: the two-sample normal formula on log latencies (a ratio of medians is a shift of logs),
  divided by the Mann–Whitney test's asymptotic relative efficiency 3/π (Lehmann,
  *Nonparametrics*, 1975, §2.4; Noether, 1987).
"""

from __future__ import annotations

import math

#: The Mann–Whitney test's efficiency relative to the t test on normal data.
MANN_WHITNEY_ARE = 3.0 / math.pi


def _z(p: float) -> float:
    """The standard normal quantile (``statistics.NormalDist`` is enough, and needs no scipy)."""
    from statistics import NormalDist  # noqa: PLC0415 - tiny, kept beside its only use

    return NormalDist().inv_cdf(p)


def _check(alpha: float, power: float, ratio: float) -> None:
    if not 0 < alpha < 0.5 or not 0.5 <= power < 1 or ratio <= 0:
        raise ValueError(
            f"need 0 < alpha < 0.5, 0.5 <= power < 1 and ratio > 0 (got {alpha}, {power}, {ratio})"
        )


def error_samples(
    baseline_rate: float, increase: float, *, alpha: float, power: float, ratio: float
) -> int:
    """Canary requests to catch an error rate ``increase`` above ``baseline_rate``."""
    _check(alpha, power, ratio)
    if not 0 <= baseline_rate < 1 or not 0 < increase <= 1:
        raise ValueError(f"need 0 <= baseline rate < 1 and 0 < increase <= 1 ({baseline_rate})")
    p0 = baseline_rate
    p1 = min(p0 + increase, 1.0)
    pooled = (p1 + ratio * p0) / (1 + ratio)
    spread = _z(1 - alpha) * math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio)) + _z(
        power
    ) * math.sqrt(p1 * (1 - p1) + p0 * (1 - p0) / ratio)
    return math.ceil(spread**2 / (p1 - p0) ** 2)


def latency_samples(
    log_sd: float, slowdown: float, *, alpha: float, power: float, ratio: float
) -> int:
    """Canary requests to catch latencies ``slowdown`` times the baseline's (1.5: +50 %)."""
    _check(alpha, power, ratio)
    if slowdown <= 1 or log_sd < 0 or not math.isfinite(log_sd):
        raise ValueError(f"need a slowdown > 1 and a finite log sd >= 0 ({slowdown}, {log_sd})")
    shift = math.log(slowdown)
    n = (_z(1 - alpha) + _z(power)) ** 2 * log_sd**2 * (1 + 1 / ratio) / shift**2
    return math.ceil(n / MANN_WHITNEY_ARE)


__all__ = ["MANN_WHITNEY_ARE", "error_samples", "latency_samples"]
