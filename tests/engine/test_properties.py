"""Invariants that must hold for any book (hypothesis)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from risk_service.engine import (
    InsufficientDataWarning,
    expected_shortfall,
    historical_var,
    portfolio_var,
)

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
series = arrays(np.float64, st.integers(20, 300), elements=finite)
confidence = st.floats(min_value=0.5, max_value=0.995)


@settings(max_examples=150, deadline=None)
@given(series, confidence, confidence)
def test_var_non_decreasing_in_confidence(pnl: np.ndarray, c1: float, c2: float) -> None:
    """VaR at a higher confidence is never lower."""
    lo, hi = sorted((c1, c2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientDataWarning)
        assert historical_var(pnl, hi) >= historical_var(pnl, lo)


@settings(max_examples=150, deadline=None)
@given(series, confidence)
def test_es_at_least_var(pnl: np.ndarray, c: float) -> None:
    """ES is at least the VaR at the same confidence."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientDataWarning)
        v = historical_var(pnl, c)
        assert expected_shortfall(pnl, c) >= v - 1e-9 * max(1.0, abs(v))


@settings(max_examples=150, deadline=None)
@given(series, confidence, st.floats(min_value=1e-3, max_value=1e3))
def test_positive_homogeneity(pnl: np.ndarray, c: float, scale: float) -> None:
    """Scaling every position by λ > 0 scales VaR and ES by λ."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientDataWarning)
        v, e = historical_var(pnl, c), expected_shortfall(pnl, c)
        assert historical_var(pnl * scale, c) == pytest.approx(v * scale, rel=1e-9, abs=1e-9)
        assert expected_shortfall(pnl * scale, c) == pytest.approx(e * scale, rel=1e-9, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(series, confidence, finite)
def test_translation(pnl: np.ndarray, c: float, shift: float) -> None:
    """Adding a sure gain a to every outcome lowers VaR and ES by exactly a."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientDataWarning)
        assert historical_var(pnl + shift, c) == pytest.approx(
            historical_var(pnl, c) - shift, abs=1e-9
        )
        assert expected_shortfall(pnl + shift, c) == pytest.approx(
            expected_shortfall(pnl, c) - shift, abs=1e-7
        )


books = st.integers(1, 8).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, n, elements=st.floats(-1e6, 1e6, allow_nan=False)),
        arrays(
            np.float64,
            st.tuples(st.integers(100, 400), st.just(n)),
            elements=st.floats(-0.2, 0.2, allow_nan=False),
        ),
    )
)


@settings(max_examples=100, deadline=None)
@given(books, st.sampled_from(["historical", "parametric", "filtered_historical"]), confidence)
def test_euler_components_sum_to_total(
    book: tuple[np.ndarray, np.ndarray], method: str, c: float
) -> None:
    """Euler component VaR sums to the portfolio VaR, and component ES to ES (1e-9 relative)."""
    weights, scenarios = book
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientDataWarning)
        risk = portfolio_var(weights, scenarios, c, method)
    scale = max(abs(risk.var), float(np.abs(weights).sum()) * 1e-12, 1e-300)
    assert abs(sum(risk.component.values()) - risk.var) <= 1e-9 * scale + 1e-9
    scale_es = max(abs(risk.es), float(np.abs(weights).sum()) * 1e-12, 1e-300)
    assert abs(sum(risk.component_es.values()) - risk.es) <= 1e-9 * scale_es + 1e-9
