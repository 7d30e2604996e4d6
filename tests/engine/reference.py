"""Slow, obvious pure-Python reference implementations the fast engine is checked against.

Written from the definitions in SPEC §2 without numpy, with different algorithms on purpose
(full sorts, greedy filling of the tail mass, explicit loops), so that agreement means something.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def var(pnl: Sequence[float], confidence: float) -> float:
    """Loss order statistic of rank ceil(c·n), c·n rounded to 9 decimals."""
    losses = sorted(-x for x in pnl)
    k = math.ceil(round(confidence * len(losses), 9))
    return losses[max(k, 1) - 1]


def es(pnl: Sequence[float], confidence: float) -> float:
    """Average loss over a tail of mass n(1 − c), filled greedily from the worst loss."""
    losses = sorted((-x for x in pnl), reverse=True)
    n = len(losses)
    mass = n - round(confidence * n, 9)
    remaining, total = mass, 0.0
    for loss in losses:
        take = min(1.0, remaining)
        total += take * loss
        remaining -= take
        if remaining <= 1e-12:
            break
    return total / mass


def portfolio_pnl(weights: Sequence[float], rows: Sequence[Sequence[float]]) -> list[float]:
    """P&L per scenario: sum of position x return, in a loop."""
    out = []
    for row in rows:
        total = 0.0
        for w, r in zip(weights, row, strict=True):
            total += w * r
        out.append(total)
    return out


def euler_components(
    weights: Sequence[float], rows: Sequence[Sequence[float]], confidence: float
) -> list[float]:
    """Each position's loss in the scenario whose portfolio loss is the VaR."""
    pnl = portfolio_pnl(weights, rows)
    target = var(pnl, confidence)
    scenario = next(t for t, p in enumerate(pnl) if -p == target)
    return [-w * r for w, r in zip(weights, rows[scenario], strict=True)]


def incremental(
    weights: Sequence[float], rows: Sequence[Sequence[float]], confidence: float
) -> list[float]:
    """VaR of the book minus VaR of the book without each position."""
    full = var(portfolio_pnl(weights, rows), confidence)
    out = []
    for i in range(len(weights)):
        reduced = [0.0 if j == i else w for j, w in enumerate(weights)]
        out.append(full - var(portfolio_pnl(reduced, rows), confidence))
    return out


def standalone(
    weights: Sequence[float], rows: Sequence[Sequence[float]], confidence: float
) -> list[float]:
    """VaR of each position on its own."""
    return [var([w * row[i] for row in rows], confidence) for i, w in enumerate(weights)]


def ewma_variance(returns: Sequence[float], lam: float) -> list[float]:
    """RiskMetrics recursion, seeded with the mean of squared returns, in a loop."""
    seed = sum(r * r for r in returns) / len(returns)
    out = [seed]
    for r in returns:
        out.append(lam * out[-1] + (1.0 - lam) * r * r)
    return out
