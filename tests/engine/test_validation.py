"""Bad input raises a ValueError subclass that names the problem."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from risk_service.engine import (
    ConfidenceError,
    DecayError,
    EmptyDataError,
    NonFiniteError,
    NonNumericError,
    RiskInputError,
    ShapeError,
    ewma_variance,
    expected_shortfall,
    historical_var,
    portfolio_var,
)

from . import reference


@pytest.mark.parametrize(
    ("pnl", "error", "fragment"),
    [
        ([], EmptyDataError, "no observations"),
        (np.array([]), EmptyDataError, "no observations"),
        ([0.1, math.nan, 0.2], NonFiniteError, "index 1"),
        ([0.1, math.inf], NonFiniteError, "inf"),
        ([-math.inf, 0.1], NonFiniteError, "index 0"),
        (["0.1", "0.2"], NonNumericError, "'0.1' is not a number"),
        ([0.1, "x"], NonNumericError, "'x' is not a number"),
        ([0.1, None], NonNumericError, "None is not a number"),
        ([True, False], NonNumericError, "True is not a number"),
        (np.array(["a", "b"]), NonNumericError, "'a' is not a number"),
        ({"a": 1}, NonNumericError, "is not a number"),
        ([[0.1, 0.2]], ShapeError, "one-dimensional"),
        ([[0.1], [0.2, 0.3]], ShapeError, "rectangular"),
    ],
)
def test_bad_series(pnl: Any, error: type[RiskInputError], fragment: str) -> None:
    """Empty, NaN/inf, non-numeric and wrongly shaped series are refused, naming the problem."""
    with pytest.raises(error, match=fragment) as info:
        historical_var(pnl, 0.95)
    assert isinstance(info.value, ValueError)
    with pytest.raises(error):
        expected_shortfall(pnl, 0.95)


@pytest.mark.parametrize("confidence", [0, 1, -1, 1.5, math.nan, math.inf, "0.99", None, True])
def test_bad_confidence(confidence: Any) -> None:
    """Confidence must be a real number strictly between 0 and 1."""
    with pytest.raises(ConfidenceError, match="Confidence must be between 0 and 1"):
        historical_var([0.1, 0.2], confidence)


def test_numpy_scalars_and_integers_are_accepted() -> None:
    """numpy floats as confidence and integer P&L are valid input."""
    assert historical_var(np.arange(-50, 50), np.float64(0.9)) == 40.0


def test_book_errors_name_the_field() -> None:
    """Errors carry the offending field so the HTTP layer can point at it."""
    with pytest.raises(NonFiniteError) as info:
        portfolio_var({"A": 1.0, "B": math.nan}, {"A": [0.1], "B": [0.2]})
    assert info.value.field == "positions"
    with pytest.raises(NonFiniteError) as info:
        portfolio_var({"A": 1.0}, {"A": [0.1, math.nan]})
    assert info.value.field == "returns.A"
    with pytest.raises(EmptyDataError):
        portfolio_var({}, {})
    with pytest.raises(EmptyDataError):
        portfolio_var({"A": 1.0}, {"A": []})
    with pytest.raises(EmptyDataError):
        portfolio_var([1.0], np.empty((0, 1)))
    with pytest.raises(ShapeError):
        portfolio_var([1.0], np.ones(3))


def test_bad_decay() -> None:
    """The EWMA decay factor must lie in (0, 1)."""
    for lam in (0.0, 1.0, 1.2, True):
        with pytest.raises(DecayError):
            ewma_variance([0.1, 0.2], lam)


def test_zero_returns_give_zero_ewma() -> None:
    """An all-zero series has zero EWMA variance throughout (no division by zero)."""
    assert ewma_variance([0.0, 0.0, 0.0]).tolist() == [0.0, 0.0, 0.0, 0.0]


def test_overflow_is_refused_not_returned_as_nan() -> None:
    """Inputs that overflow float64 give a clear error instead of a NaN VaR."""
    with pytest.raises(NonFiniteError, match="overflowed"):
        portfolio_var([1e300, 1e300], [[1e10, 1e10], [-1e10, -1e10]] * 50, 0.95)
    with pytest.raises(NonFiniteError, match="overflowed"):
        portfolio_var([1e300, 1e300], [[1e10, 1e10], [-1e10, -1e10]] * 50, 0.95, "parametric")


def test_nan_found_in_every_column_even_with_zero_weight() -> None:
    """NaN/inf is refused wherever it sits, including a column whose position is zero."""
    scenarios = np.full((50, 3), 0.01)
    for col, weights in ((0, [1.0, 1.0, 1.0]), (2, [1.0, 1.0, 0.0])):
        bad = scenarios.copy()
        bad[7, col] = math.nan
        with pytest.raises(NonFiniteError, match="at index 7") as info:
            portfolio_var(weights, bad, 0.95)
        assert info.value.field == f"returns.{col}"
    with pytest.raises(NonFiniteError) as info:
        portfolio_var({"A": 1.0, "B": 0.0}, {"A": [0.01] * 30, "B": [0.0] * 29 + [math.inf]}, 0.9)
    assert info.value.field == "returns.B"


def test_integer_and_mixed_series_in_mappings() -> None:
    """Integer series and mixed int/float lists are numbers too."""
    a, b = [1, -2, 3, -4] * 5, [0.5, 1, -1.25, 2] * 5
    risk = portfolio_var({"A": 1, "B": 2}, {"A": a, "B": b}, 0.9)
    pnl = [x + 2 * y for x, y in zip(a, b, strict=True)]  # 2, 0, 0.5, 0 repeated
    assert risk.var == reference.var(pnl, 0.9)
    assert risk.var == -0.0
