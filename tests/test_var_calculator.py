"""The original API keeps its contract; each of the original's bugs has a regression test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from risk_service.engine import (
    ConfidenceError,
    EmptyDataError,
    LengthMismatchError,
    MissingSymbolError,
    NonFiniteError,
)
from risk_service.var_calculator import calculate_portfolio_var, calculate_var

from .engine import reference


def test_calculate_var_default_confidence_is_95() -> None:
    """calculate_var defaults to 95 % and returns the loss of rank ceil(0.95·n)."""
    returns = [x / 100 for x in range(-10, 10)]  # 20 returns: −10 % … +9 %
    # ceil(0.95·20) = 19: the 19th smallest of the losses {−0.09 … 0.10} is 0.09.
    assert calculate_var(returns) == pytest.approx(0.09)


def test_calculate_var_rank() -> None:
    """The 19th smallest of 20 losses at 95 %: second worst (hand-computed)."""
    returns = [x / 100 for x in range(-9, 11)]  # worst −9 %, second worst −8 %
    assert calculate_var(returns, 0.95) == pytest.approx(0.08)


def test_regression_float_rank_bug() -> None:
    """Original bug: int((1 − 0.9)·10) = 0 picked the worst of 10 returns instead of the second."""
    returns = [-0.05, 0.01, 0.02, -0.01, 0.03, -0.02, 0.0, 0.01, 0.02, -0.03]
    assert calculate_var(returns, 0.9) == pytest.approx(0.03)


def test_regression_unequal_lengths_are_an_error() -> None:
    """Original bug: unequal series were silently truncated to the shortest."""
    with pytest.raises(LengthMismatchError, match="equal length"):
        calculate_portfolio_var({"A": 1e6, "B": 1e6}, {"A": [0.01] * 100, "B": [0.01] * 99})


def test_regression_zero_net_book() -> None:
    """Original bug: P&L divided by net notional broke zero-net books (division by zero)."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 0.01, 250), rng.normal(0, 0.01, 250)
    result = calculate_portfolio_var({"A": 5e6, "B": -5e6}, {"A": a.tolist(), "B": b.tolist()})
    expected = reference.var(((a - b) * 5e6).tolist(), 0.95)
    assert result["portfolio_var"] == pytest.approx(expected, rel=1e-12)
    assert result["total_notional"] == 0.0
    assert result["gross_notional"] == 1e7


def test_regression_long_short_book_in_currency() -> None:
    """Original bug: long/short VaR was scaled by net notional; P&L is Σ position × return."""
    returns = {"A": [-0.02, 0.01, 0.03, -0.01] * 25, "B": [0.01, -0.02, 0.0, 0.02] * 25}
    positions = {"A": 3e6, "B": -1e6}
    result = calculate_portfolio_var(positions, returns, 0.95)
    pnl = [3e6 * a - 1e6 * b for a, b in zip(returns["A"], returns["B"], strict=True)]
    assert result["portfolio_var"] == pytest.approx(reference.var(pnl, 0.95))


def test_regression_component_is_euler_and_standalone_is_separate() -> None:
    """Original bug: standalone VaRs were called component VaR; components now sum to the total."""
    rng = np.random.default_rng(2)
    returns = {s: rng.normal(0, 0.01, 500).tolist() for s in "ABC"}
    positions = {"A": 1e6, "B": 2e6, "C": -5e5}
    result = calculate_portfolio_var(positions, returns, 0.99)
    assert sum(result["component_var"].values()) == pytest.approx(result["portfolio_var"])
    for s, w in positions.items():
        assert result["standalone_var"][s] == pytest.approx(
            reference.var([w * r for r in returns[s]], 0.99)
        )
    assert sum(result["standalone_var"].values()) > result["portfolio_var"]  # diversification


def test_regression_nan_is_an_error_not_a_gain() -> None:
    """Original bug: a NaN return sorted arbitrarily and was reported as a gain."""
    with pytest.raises(NonFiniteError):
        calculate_var([0.01, math.nan, -0.02] * 10, 0.9)
    with pytest.raises(NonFiniteError):
        calculate_portfolio_var({"A": 1.0}, {"A": [0.01, math.nan] * 20})


def test_original_error_wording() -> None:
    """Errors keep the original messages, and stay ValueErrors."""
    with pytest.raises(EmptyDataError, match="^Returns list cannot be empty$"):
        calculate_var([])
    for bad in (0, 1, -0.5, 1.5, math.nan, "0.95"):
        with pytest.raises(ConfidenceError, match="^Confidence must be between 0 and 1$"):
            calculate_var([0.1, 0.2], bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="^Confidence must be between 0 and 1$"):
            calculate_portfolio_var({"A": 1.0}, {"A": [0.1]}, bad)  # type: ignore[arg-type]
    with pytest.raises(MissingSymbolError, match="^No returns data for XYZ$"):
        calculate_portfolio_var({"XYZ": 1.0}, {"A": [0.1]})
    with pytest.raises(EmptyDataError, match="^Returns list cannot be empty$"):
        calculate_portfolio_var({"A": 1.0}, {"A": []})


def test_result_keys() -> None:
    """The original keys are present, with confidence echoed back."""
    result = calculate_portfolio_var({"A": 1e6}, {"A": [0.01, -0.02, 0.03, -0.01] * 25}, 0.95)
    assert {"portfolio_var", "component_var", "confidence", "total_notional"} <= result.keys()
    assert result["confidence"] == 0.95
    assert result["total_notional"] == 1e6
    assert result["portfolio_var"] == pytest.approx(0.02 * 1e6)
