"""The daily run's FRTB figures (BCBS MAR33), stored in the run's validation summary under "frtb".

For every portfolio at once, over the run's market-data window:

* each position's liquidity horizon comes from its instrument's asset class
  (:data:`HORIZON_BY_CLASS`, the MAR33.12 bucket that fits the class; an unknown class takes the
  longest horizon, which never understates);
* ES 97.5 % on the 10-day base horizon from overlapping 10-day P&L, by liquidity horizon, and
  their MAR33.4 cascade, over the last 250 days;
* the stressed ES (MAR33.5): the reduced factor set is the firm's most liquid risk factors — the
  instruments at the 10-day base horizon, whose histories are the longest and most reliable; the
  stressed period is each portfolio's worst 250-day window of that set's P&L in the stored
  history (reported with its dates), and the share of the current ES the set explains is reported
  and checked against MAR33's 75 %.

The figures are those of :func:`risk_service.engine.frtb_es` on each book (the tests check it),
computed with one matrix product per horizon bucket and the engine's column-wise ES, so the
full-size run (1,000 books) pays seconds, not minutes. These are extra outputs: a portfolio whose
figures cannot be formed gets a note, and the morning's VaR numbers are never held up by them.
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


def _es_columns(pnl: FloatArray) -> FloatArray:
    """ES 97.5 % of the overlapping 10-day sums of each column of daily P&L."""
    return engine.es_by_column(engine.overlapping_sums(pnl, engine.BASE_HORIZON))


def _figures(
    exposures: FloatArray, matrix: FloatArray, lh: NDArray[np.int_]
) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.intp]]:
    """ES by horizon (H x P), the reduced set's current and stressed ES (P) and the start row of
    each portfolio's stressed window (P)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", engine.RiskWarning)
        # P&L of each horizon bucket, then the partial P&L of "horizon at least LH_j" by summing
        # the buckets from the longest down: one matrix product per bucket in all.
        buckets = [matrix[:, lh == h] @ exposures[:, lh == h].T for h in engine.LIQUIDITY_HORIZONS]
        partial = np.cumsum(buckets[::-1], axis=0)[::-1]  # partial[j]: T x P
        current = slice(-PERIOD_DAYS, None)
        es_by_horizon = np.array([_es_columns(p[current]) for p in partial])  # H x P
        reduced = buckets[0]  # the base-horizon instruments, at the base horizon only
        es_reduced_current = _es_columns(reduced[current])
        windows = engine.rolling_es(reduced, PERIOD_DAYS)  # windows x portfolios
        starts = np.argmax(windows, axis=0)  # the first worst window, as engine.stressed_window
        rows = starts[None, :] + np.arange(PERIOD_DAYS)[:, None]
        stressed_pnl = np.take_along_axis(reduced, rows, axis=0)
        es_reduced_stressed = _es_columns(stressed_pnl)
    return es_by_horizon, es_reduced_current, es_reduced_stressed, starts


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
        "reduced_factors": f"instruments at the {engine.BASE_HORIZON}-day liquidity horizon",
        "history_days": int(matrix.shape[0]),
        "portfolios": {},
    }
    if matrix.shape[0] < PERIOD_DAYS:
        summary["note"] = (
            f"FRTB figures need {PERIOD_DAYS} days of history; the run's window holds "
            f"{matrix.shape[0]}"
        )
        return summary
    lh = np.array([horizons[s] for s in symbols])
    try:
        figures = _figures(exposures, matrix, lh)
    except (engine.RiskInputError, engine.RiskWarning) as exc:  # e.g. overflowing P&L
        summary["note"] = f"FRTB figures not formed: {exc}"
        summary["portfolios"] = {pid: {"note": summary["note"]} for pid in portfolios}
        return summary
    es_by_horizon, es_reduced_current, es_reduced_stressed, starts = figures
    held_reduced = (exposures != 0.0) & (lh == engine.BASE_HORIZON)[None, :]
    out: dict[str, Any] = summary["portfolios"]
    for i, pid in enumerate(portfolios):
        names = [symbols[int(j)] for j in np.flatnonzero(held_reduced[i])]
        try:
            full = engine.liquidity_horizon_es(es_by_horizon[:, i])
            stressed = engine.stressed_es(
                float(es_reduced_stressed[i]), full, float(es_reduced_current[i])
            )
        except engine.RiskInputError as exc:
            out[pid] = {"note": f"FRTB figures not formed: {exc}"}
            continue
        share = float(es_reduced_current[i]) / full if full else 0.0
        start = int(starts[i])
        out[pid] = {
            "es_10d": float(es_by_horizon[0, i]),
            "es_by_horizon": es_by_horizon[:, i].tolist(),
            "liquidity_adjusted_es": full,
            "stressed_es": stressed,
            "reduced_factors": names,
            "reduced_share": share,
            "reduced_share_ok": share >= REDUCED_SHARE,
            "stress_period": [str(dates[start]), str(dates[start + PERIOD_DAYS - 1])],
        }
    return summary


__all__ = ["HORIZON_BY_CLASS", "frtb_outputs", "load_horizons"]
