"""Standardised loss quantiles and tail expectations for the parametric methods.

Both distributions are scaled to unit variance, so VaR = σ·q and ES = σ·e for a portfolio
P&L with standard deviation σ and zero mean.

Student-t with ν > 2 degrees of freedom, scaled by √((ν − 2)/ν) to unit variance; its ES is
f_ν(t)·(ν + t²) / ((ν − 1)(1 − c)) times the same scale (McNeil, Frey & Embrechts,
*Quantitative Risk Management*, 2nd ed., Example 2.15).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from .errors import RiskInputError


class DistributionError(RiskInputError):
    """Invalid distribution parameters (e.g. ν ≤ 2 for the Student-t)."""

    code = "invalid_distribution"


@dataclass(frozen=True, slots=True)
class UnitTail:
    """Quantile and tail expectation of a unit-variance loss distribution at one confidence."""

    quantile: float
    shortfall: float


def normal_tail(confidence: float) -> UnitTail:
    """Standard normal: z_c and φ(z_c)/(1 − c)."""
    z = float(stats.norm.ppf(confidence))
    return UnitTail(z, float(stats.norm.pdf(z)) / (1.0 - confidence))


def student_t_tail(confidence: float, dof: float) -> UnitTail:
    """Unit-variance Student-t with ``dof`` degrees of freedom (must exceed 2)."""
    if isinstance(dof, bool) or not math.isfinite(dof) or dof <= 2.0:
        raise DistributionError(
            f"Student-t degrees of freedom must be a finite number above 2, got {dof!r}",
            field="dof",
        )
    scale = math.sqrt((dof - 2.0) / dof)
    t = float(stats.t.ppf(confidence, dof))
    es = float(stats.t.pdf(t, dof)) * (dof + t * t) / ((dof - 1.0) * (1.0 - confidence))
    return UnitTail(t * scale, es * scale)


def unit_tail(confidence: float, dof: float | None) -> UnitTail:
    """Normal when ``dof`` is None, otherwise the unit-variance Student-t."""
    return normal_tail(confidence) if dof is None else student_t_tail(confidence, dof)


__all__ = ["DistributionError", "UnitTail", "normal_tail", "student_t_tail", "unit_tail"]
