"""Many portfolios at once: one matrix product for the whole firm.

The daily run holds P portfolios over N instruments as an exposure matrix E (P×N, currency)
and the scenarios as R (T×N). P&L for every portfolio is R·Eᵀ (T×P) — a single BLAS call —
and every VaR/ES is a rank selection along the scenario axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._typing import FloatArray
from ._validation import RANK_DECIMALS, as_matrix, check_confidence, check_sample_size, var_rank
from .errors import LengthMismatchError


@dataclass(frozen=True)
class BatchRisk:
    """Historical risk of P portfolios: VaR and Euler components per level, ES at one level."""

    var: dict[float, FloatArray]  # level -> (P,)
    es: FloatArray  # (P,) at es_level
    es_level: float
    component: dict[float, FloatArray]  # level -> (P, N), rows sum to var[level]
    pnl: FloatArray  # (T, P)
    observations: int


def batch_risk(
    exposures: Any,
    returns: Any,
    var_levels: Sequence[float] = (0.95, 0.99),
    es_level: float = 0.975,
    *,
    strict: bool = False,
) -> BatchRisk:
    """Historical VaR (default convention), Euler components and ES for every portfolio."""
    levels = [check_confidence(c, field="var_levels") for c in var_levels]
    es_c = check_confidence(es_level, field="es_level")
    exp = as_matrix(exposures, field="exposures")
    scen = as_matrix(returns, field="returns")
    if exp.shape[1] != scen.shape[1]:
        raise LengthMismatchError(
            f"exposures cover {exp.shape[1]} instruments but returns cover {scen.shape[1]}",
            field="exposures",
        )
    n = scen.shape[0]
    for c in [*levels, es_c]:
        check_sample_size(n, c, strict=strict)

    pnl = scen @ exp.T  # (T, P): the one matrix product
    losses = -pnl
    ranks = sorted({var_rank(n, c) - 1 for c in [*levels, es_c]})
    order = np.argpartition(losses, ranks, axis=0)
    cols = np.arange(exp.shape[0])

    var: dict[float, FloatArray] = {}
    component: dict[float, FloatArray] = {}
    for c in levels:
        scenario = order[var_rank(n, c) - 1]  # (P,) scenario index of each portfolio's VaR
        var[c] = losses[scenario, cols]
        component[c] = -(scen[scenario] * exp)

    k = var_rank(n, es_c)
    full = n - k
    mass = n - round(es_c * n, RANK_DECIMALS)
    boundary = losses[order[k - 1], cols]
    worst = np.take_along_axis(losses, order[k:], axis=0).sum(axis=0) if full else 0.0
    # When c·n rounds to n the tail mass is 0 and ES tends to the worst loss (the boundary).
    es = (worst + (mass - full) * boundary) / mass if mass > 0 else boundary
    return BatchRisk(
        var=var,
        es=np.asarray(es, dtype=np.float64),
        es_level=es_c,
        component=component,
        pnl=pnl,
        observations=n,
    )


__all__ = ["BatchRisk", "batch_risk"]
