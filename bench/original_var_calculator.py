"""The original pure-Python algorithm, kept only as the benchmarks' baseline.

Reconstructed from the behaviour the engine replaced (see the regression tests in
tests/test_var_calculator.py): sort the returns, take index int((1 - c)·n) — with its float
bug — normalise P&L by net notional, truncate unequal series, and call per-position standalone
VaR "component VaR". Never import this from src/.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def calculate_var(returns: Sequence[float], confidence: float = 0.95) -> float:
    """Original historical VaR: sorted returns, index int((1 - c)·n)."""
    if not returns:
        raise ValueError("Returns list cannot be empty")
    if not 0 < confidence < 1:
        raise ValueError("Confidence must be between 0 and 1")
    sorted_returns = sorted(returns)
    index = int((1 - confidence) * len(sorted_returns))
    return -sorted_returns[index]


def calculate_portfolio_var(
    positions: Mapping[str, float],
    returns_matrix: Mapping[str, Sequence[float]],
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Original portfolio VaR: weights by net notional, Python loops over scenarios."""
    total_notional = sum(positions.values())
    weights = {}
    for symbol, notional in positions.items():
        if symbol not in returns_matrix:
            raise ValueError(f"No returns data for {symbol}")
        weights[symbol] = notional / total_notional
    n = min(len(returns_matrix[s]) for s in positions)
    portfolio_returns = []
    for t in range(n):
        total = 0.0
        for symbol, weight in weights.items():
            total += weight * returns_matrix[symbol][t]
        portfolio_returns.append(total)
    portfolio_var = calculate_var(portfolio_returns, confidence) * total_notional
    component_var = {
        s: calculate_var(returns_matrix[s], confidence) * positions[s] for s in positions
    }
    return {
        "portfolio_var": portfolio_var,
        "component_var": component_var,
        "confidence": confidence,
        "total_notional": total_notional,
    }
