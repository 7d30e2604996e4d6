"""The original public API, kept for existing callers.

``calculate_var`` and ``calculate_portfolio_var`` keep their signatures, result keys and error
wording. What changed (each a bug in the original, each with a regression test):

* the rank is ⌈c·n⌉ with c·n rounded to 9 decimals — (1 − 0.9)·10 = 0.9999999999999998 no
  longer picks the wrong observation;
* series of unequal length are an error, never silently truncated;
* portfolio P&L is in currency (Σ positionᵢ × returnᵢ), never divided by net notional, so
  long/short and zero-net books are correct;
* ``component_var`` is the Euler component (it sums to ``portfolio_var``); the per-position
  standalone figures the original called "component" are under ``standalone_var``;
* NaN or infinite returns are an error instead of a reported gain.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from .engine import ConfidenceError, EmptyDataError, MissingSymbolError, historical_var
from .engine import portfolio_var as _portfolio_var

__all__ = ["calculate_portfolio_var", "calculate_var"]


def _check_confidence(confidence: Any) -> None:
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0 < float(confidence) < 1
    ):
        raise ConfidenceError("Confidence must be between 0 and 1", field="confidence")


def calculate_var(returns: Sequence[float], confidence: float = 0.95) -> float:
    """Historical VaR of a return series at ``confidence``, as a positive fraction for a loss."""
    if returns is None or len(returns) == 0:
        raise EmptyDataError("Returns list cannot be empty", field="returns")
    _check_confidence(confidence)
    return historical_var(returns, confidence)


def calculate_portfolio_var(
    positions: Mapping[str, float],
    returns_matrix: Mapping[str, Sequence[float]],
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Historical VaR of a book in currency, with Euler components and standalone VaRs.

    Keys: ``portfolio_var``, ``component_var`` (Euler, sums to ``portfolio_var``),
    ``standalone_var``, ``expected_shortfall``, ``marginal_var``, ``confidence``,
    ``total_notional`` (Σ positions, as before), ``gross_notional``, ``net_notional``,
    ``observations``.
    """
    if not positions:
        raise EmptyDataError("Returns list cannot be empty", field="positions")
    _check_confidence(confidence)
    for symbol in positions:
        series = returns_matrix.get(symbol)
        if series is None:
            raise MissingSymbolError(f"No returns data for {symbol}", field=f"returns.{symbol}")
        if len(series) == 0:
            raise EmptyDataError("Returns list cannot be empty", field=f"returns.{symbol}")
    risk = _portfolio_var(positions, returns_matrix, confidence, "historical")
    return {
        "portfolio_var": risk.var,
        "component_var": dict(risk.component),
        "standalone_var": dict(risk.standalone),
        "marginal_var": dict(risk.marginal),
        "expected_shortfall": risk.es,
        "confidence": float(confidence),
        "total_notional": risk.net_notional,
        "gross_notional": risk.gross_notional,
        "net_notional": risk.net_notional,
        "observations": risk.observations,
    }
