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

The error figure is a plan; the evidence can settle the question sooner: once the upper
confidence bound on the canary's excess error rate is below the smallest increase worth catching
(:func:`error_increase_excluded`), more requests cannot show that increase (a canary far better
than a failing baseline needs no thousands of requests to be shown no worse).
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


def error_increase_excluded(
    canary: tuple[int, int], baseline: tuple[int, int], increase: float, *, alpha: float
) -> bool:
    """Whether the one-sided upper ``1 - alpha`` bound on canary rate − baseline rate (each side
    ``(errors, requests)``) is below ``increase``.

    Agresti & Caffo's interval (one error and one success added to each side: "Simple and
    effective confidence intervals for proportions and differences of proportions", The American
    Statistician 54 (2000): 280–288), which keeps its level with few or no errors, where the
    plain Wald interval collapses to a point.
    """
    (ce, cn), (be, bn) = canary, baseline
    pc, pb = (ce + 1) / (cn + 2), (be + 1) / (bn + 2)
    spread = math.sqrt(pc * (1 - pc) / (cn + 2) + pb * (1 - pb) / (bn + 2))
    return pc - pb + _z(1 - alpha) * spread < increase


#: Past this many canary requests an exclusion is "never" for a window.
MAX_SAMPLES = 1_000_000


def exclusion_samples(
    canary_rate: float, baseline_rate: float, increase: float, *, alpha: float, ratio: float
) -> int | None:
    """Canary requests after which, at these error rates, :func:`error_increase_excluded` holds
    (the baseline seeing ``ratio`` times as many); None when it never would (the canary's rate is
    that much worse already, or it takes more than :data:`MAX_SAMPLES`)."""
    _check(alpha, 0.5, ratio)

    def excluded(n: int) -> bool:
        m = max(1, round(n * ratio))
        return error_increase_excluded(
            (round(canary_rate * n), n), (round(baseline_rate * m), m), increase, alpha=alpha
        )

    if canary_rate - baseline_rate >= increase or not excluded(MAX_SAMPLES):
        return None
    lo, hi = 0, 1
    while not excluded(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # the bound narrows as n grows: bisect the first n it is below
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if excluded(mid) else (mid, hi)
    return hi


__all__ = [
    "MANN_WHITNEY_ARE",
    "MAX_SAMPLES",
    "error_increase_excluded",
    "error_samples",
    "exclusion_samples",
    "latency_samples",
]
