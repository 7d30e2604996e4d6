"""The daily run's FRTB figures (BCBS MAR33), stored in the run's validation summary under "frtb".

For each portfolio, over the run's market-data window:

* each position's liquidity horizon comes from its instrument's asset class
  (:data:`HORIZON_BY_CLASS`, the MAR33.12 bucket that fits the class; an unknown class takes the
  longest horizon, which never understates);
* ES 97.5 % on the 10-day base horizon from overlapping 10-day P&L, by liquidity horizon, and
  their MAR33.4 cascade, over the last 250 days;
* the stressed ES: the reduced factor set is the portfolio's largest positions (by standalone
  10-day ES) until they explain at least 75 % of the current ES (MAR33.5's test), and the stressed
  period is that set's worst 250-day window in the stored history — reported with its dates.

These are extra outputs: a portfolio whose FRTB figures cannot be formed (e.g. a history shorter
than the windows) gets a note instead, and the morning's VaR numbers are never held up by them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from risk_service import engine
from risk_service.store.models import Instrument

FloatArray = NDArray[np.float64]

#: MAR33.12 liquidity horizons for the asset classes the store knows (days).
HORIZON_BY_CLASS = {"equity": 10, "rates": 10, "fx": 10, "commodity": 20, "credit": 40}
UNKNOWN_CLASS_HORIZON = 120
#: Current and stressed periods (MAR33: 12 months), and the reduced set's required share.
PERIOD_DAYS = 250
REDUCED_SHARE = 0.75


def load_horizons(session: Session, symbols: Sequence[str]) -> dict[str, int]:
    """Each symbol's liquidity horizon from its stored asset class."""
    wanted = set(symbols)
    rows = session.execute(select(Instrument.symbol, Instrument.asset_class)).all()
    classes = {s: c for s, c in rows if s in wanted}
    return {s: HORIZON_BY_CLASS.get(classes.get(s, ""), UNKNOWN_CLASS_HORIZON) for s in symbols}


def _reduced_set(
    weights: FloatArray, matrix: FloatArray, names: list[str], horizons: FloatArray
) -> list[str]:
    """Largest positions by standalone ES until their liquidity-adjusted ES is ≥ 75 % of the
    book's, over the current period (the share MAR33 asks the reduced set to explain)."""
    current = matrix[-PERIOD_DAYS:]

    def cascade(book: FloatArray) -> float:
        return engine.liquidity_horizon_es(
            [
                engine.base_horizon_es(current @ np.where(horizons >= h, book, 0.0))
                for h in engine.LIQUIDITY_HORIZONS
            ]
        )

    full = cascade(weights)
    alone = [cascade(np.where(np.arange(len(names)) == j, weights, 0.0)) for j in range(len(names))]
    chosen = np.zeros(len(names), dtype=bool)
    for j in np.argsort(alone)[::-1]:
        chosen[j] = True
        if cascade(np.where(chosen, weights, 0.0)) >= REDUCED_SHARE * full:
            break
    return [n for n, keep in zip(names, chosen, strict=True) if keep]


def _portfolio(
    weights: FloatArray, matrix: FloatArray, names: list[str], horizons: dict[str, int]
) -> dict[str, Any]:
    lh = np.array([horizons[n] for n in names])
    reduced = _reduced_set(weights, matrix, names, lh)
    result = engine.frtb_es(
        dict(zip(names, weights.tolist(), strict=True)),
        {n: matrix[:, j] for j, n in enumerate(names)},
        {n: horizons[n] for n in names},
        reduced_factors=reduced,
        current_window=PERIOD_DAYS,
        stress_window=PERIOD_DAYS,
    )
    stressed = result.stressed
    if stressed is None:  # pragma: no cover - reduced_factors was given
        raise engine.RiskInputError("no stressed ES was formed")
    return {
        "es_10d": result.es_by_horizon[0],
        "es_by_horizon": list(result.es_by_horizon),
        "liquidity_adjusted_es": result.liquidity_adjusted_es,
        "stressed_es": stressed.stressed_es,
        "reduced_factors": list(stressed.reduced_factors),
        "reduced_share": stressed.reduced_share,
        "stress_rows": [stressed.window.start, stressed.window.stop],
    }


def frtb_outputs(
    portfolios: Sequence[str],
    *,
    symbols: Sequence[str],
    exposures: FloatArray,
    dates: Sequence[Any],
    matrix: FloatArray,
    horizons: dict[str, int],
) -> dict[str, Any]:
    """FRTB figures of every portfolio (``exposures`` P x N over ``symbols``, ``matrix`` the
    market window, one row per date of ``dates``)."""
    summary: dict[str, Any] = {
        "confidence": engine.FRTB_CONFIDENCE,
        "base_horizon": engine.BASE_HORIZON,
        "base_horizon_method": "overlapping",
        "liquidity_horizons_by_class": HORIZON_BY_CLASS,
        "history_days": int(matrix.shape[0]),
        "portfolios": {},
    }
    if matrix.shape[0] < PERIOD_DAYS:
        summary["note"] = (
            f"FRTB figures need {PERIOD_DAYS} days of history; the run's window holds "
            f"{matrix.shape[0]}"
        )
        return summary
    out: dict[str, Any] = summary["portfolios"]
    for i, pid in enumerate(portfolios):
        cols = np.flatnonzero(exposures[i] != 0.0)
        names = [symbols[int(j)] for j in cols]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", engine.RiskWarning)
                figures = _portfolio(exposures[i, cols], matrix[:, cols], names, horizons)
        except (engine.RiskInputError, engine.RiskWarning) as exc:
            out[pid] = {"note": f"FRTB figures not formed: {exc}"}
            continue
        start, stop = figures.pop("stress_rows")
        figures["stress_period"] = [str(dates[start]), str(dates[stop - 1])]
        out[pid] = figures
    return summary


__all__ = ["HORIZON_BY_CLASS", "frtb_outputs", "load_horizons"]
