"""Historical VaR and expected shortfall of one P&L series.

Conventions (SPEC §2): losses L = −P&L sorted ascending, VaR = L₍ₖ₎ with k = ⌈c·n⌉ where c·n is
rounded to 9 decimals before the ceiling. Expected shortfall is the Acerbi–Tasche (2002)
estimator: the average loss over the worst (1 − c) share of outcomes, the boundary observation
weighted by its fractional share. Other quantile conventions are numpy's, selected by name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from ._typing import FloatArray, IntArray
from ._validation import RANK_DECIMALS, as_vector, check_confidence, check_sample_size, var_rank
from .errors import RiskInputError


class Convention(enum.StrEnum):
    """How the VaR quantile is taken from n observations."""

    DEFAULT = "default"  # k = ceil(c·n) order statistic, c·n rounded to 9 decimals
    INVERTED_CDF = "inverted_cdf"
    AVERAGED_INVERTED_CDF = "averaged_inverted_cdf"
    CLOSEST_OBSERVATION = "closest_observation"
    INTERPOLATED_INVERTED_CDF = "interpolated_inverted_cdf"
    HAZEN = "hazen"
    WEIBULL = "weibull"
    LINEAR = "linear"
    MEDIAN_UNBIASED = "median_unbiased"
    NORMAL_UNBIASED = "normal_unbiased"
    LOWER = "lower"
    HIGHER = "higher"
    MIDPOINT = "midpoint"
    NEAREST = "nearest"


NumpyMethod = Literal[
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
    "lower",
    "higher",
    "midpoint",
    "nearest",
]


def numpy_method(convention: Convention) -> NumpyMethod:
    """The ``method=`` name numpy.quantile uses for a non-default convention."""
    return cast(NumpyMethod, convention.value)


class ConventionError(RiskInputError):
    """An unknown quantile convention name."""

    code = "invalid_convention"


def parse_convention(convention: str | Convention) -> Convention:
    """Return the :class:`Convention` named ``convention``, or raise listing the valid names."""
    try:
        return Convention(convention)
    except ValueError:
        names = ", ".join(c.value for c in Convention)
        raise ConventionError(
            f"unknown quantile convention {convention!r}; choose one of: {names}",
            field="convention",
        ) from None


@dataclass(frozen=True, slots=True)
class TailPoint:
    """Where the VaR sits among the ordered losses: two adjacent scenarios and a weight.

    VaR = (1 − weight)·L[lower] + weight·L[upper]; for the default convention weight is 0 and
    the VaR is exactly the loss of scenario ``lower``.
    """

    lower: int
    upper: int
    weight: float
    value: float


def tail_point(losses: FloatArray, confidence: float, convention: Convention) -> TailPoint:
    """Locate the VaR among ``losses`` (no validation; ``losses`` is finite and non-empty)."""
    n = losses.shape[0]
    if convention is Convention.DEFAULT:
        k = var_rank(n, confidence) - 1
        idx = int(np.argpartition(losses, k)[k])
        return TailPoint(idx, idx, 0.0, float(losses[idx]))
    value = float(np.quantile(losses, confidence, method=numpy_method(convention)))
    # The value lies between two adjacent order statistics; find them to express it as a
    # weighted pair of scenarios (so allocations can follow it exactly).
    below = int(np.count_nonzero(losses < value))
    order = np.argpartition(losses, [max(below - 1, 0), min(below, n - 1)])
    lo = int(order[max(below - 1, 0)])
    hi = int(order[min(below, n - 1)])
    if losses[hi] == value or losses[hi] == losses[lo]:
        return TailPoint(hi, hi, 0.0, value)
    weight = (value - float(losses[lo])) / (float(losses[hi]) - float(losses[lo]))
    return TailPoint(lo, hi, weight, value)


@dataclass(frozen=True, slots=True)
class Tail:
    """The worst (1 − c) share of scenarios with Acerbi–Tasche weights summing to 1."""

    indices: IntArray
    weights: FloatArray


def es_tail(losses: FloatArray, confidence: float) -> Tail:
    """Scenarios and weights of the fractional expected-shortfall estimator.

    With m = n(1 − c) (rounded to 9 decimals) and w = n − ⌈c·n⌉ full observations beyond the
    VaR, ES = (Σ worst w losses + (m − w)·L₍ₖ₎) / m.
    """
    n = losses.shape[0]
    k = var_rank(n, confidence)  # 1-based rank of the VaR observation
    full = n - k
    mass = n - round(confidence * n, RANK_DECIMALS)
    order = np.argpartition(losses, k - 1)
    indices = order[k - 1 :]  # the VaR observation first, then the `full` worse ones
    if mass <= 0.0:
        # c·n rounds to n: the tail is thinner than the rank resolution, and ES tends to the
        # worst loss (which is then the VaR observation, k = n).
        return Tail(indices.astype(np.intp), np.ones(indices.shape[0]))
    weights = np.full(indices.shape[0], 1.0 / mass)
    weights[0] = (mass - full) / mass
    return Tail(indices.astype(np.intp), weights)


def historical_var(
    pnl: Any,
    confidence: float = 0.99,
    convention: str | Convention = "default",
    *,
    strict: bool = False,
) -> float:
    """Historical-simulation VaR of a P&L series: a positive number for a loss.

    ``pnl`` is in currency (or in returns, for a VaR in return units). Raises a
    :class:`~risk_service.engine.errors.RiskInputError` on bad input; warns with
    :class:`~risk_service.engine.errors.InsufficientDataWarning` (raises when ``strict``) when
    n < 1/(1 − c).
    """
    c = check_confidence(confidence)
    conv = parse_convention(convention)
    losses = -as_vector(pnl, field="pnl")
    check_sample_size(losses.shape[0], c, strict=strict)
    return tail_point(losses, c, conv).value


def expected_shortfall(pnl: Any, confidence: float = 0.975, *, strict: bool = False) -> float:
    """Expected shortfall (Acerbi–Tasche fractional estimator) of a P&L series.

    Always at least the default-convention VaR at the same confidence.
    """
    c = check_confidence(confidence)
    losses = -as_vector(pnl, field="pnl")
    check_sample_size(losses.shape[0], c, strict=strict)
    tail = es_tail(losses, c)
    return float(losses[tail.indices] @ tail.weights)


__all__ = [
    "Convention",
    "ConventionError",
    "Tail",
    "TailPoint",
    "es_tail",
    "expected_shortfall",
    "historical_var",
    "numpy_method",
    "parse_convention",
    "tail_point",
]
