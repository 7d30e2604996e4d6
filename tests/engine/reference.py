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


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation of the average ranks, in loops."""
    rx, ry = average_ranks(x), average_ranks(y)
    n = len(rx)
    mx, my = sum(rx) / n, sum(ry) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy)


def ks_distance(x: Sequence[float], y: Sequence[float]) -> float:
    """sup |F_x − F_y| over every observed point, counting with loops."""
    best = 0.0
    for point in list(x) + list(y):
        fx = sum(1 for v in x if v <= point) / len(x)
        fy = sum(1 for v in y if v <= point) / len(y)
        best = max(best, abs(fx - fy))
    return best


def z2(pnl: Sequence[float], var: Sequence[float], es: Sequence[float], alpha: float) -> float:
    """Acerbi–Székely Z2 from its definition, day by day."""
    total = 0.0
    for x, v, e in zip(pnl, var, es, strict=True):
        if x + v < 0:
            total += x / e
    return total / (len(pnl) * alpha) + 1


def z1(pnl: Sequence[float], var: Sequence[float], es: Sequence[float]) -> float:
    """Acerbi–Székely Z1 from its definition, day by day."""
    total, count = 0.0, 0
    for x, v, e in zip(pnl, var, es, strict=True):
        if x + v < 0:
            total += x / e
            count += 1
    return total / count + 1


def worst_window_es(pnl: Sequence[float], window: int, confidence: float) -> tuple[int, float]:
    """Start and ES of the first window with the highest ES, each window's ES from es()."""
    best_start, best = 0, -math.inf
    for start in range(len(pnl) - window + 1):
        value = es(pnl[start : start + window], confidence)
        if value > best:
            best_start, best = start, value
    return best_start, best
