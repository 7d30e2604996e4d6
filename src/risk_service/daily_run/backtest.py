"""Replay the daily model over the last business days of the store: ``risk-service backtest``.

What riskctl's model-change judge runs in each release, on the same store, to see a model's track
record side by side with another's. For each of the last ``days`` stored sessions t, the model
(``engine.batch_risk``, the daily run's model) forecasts VaR 99 %, VaR 97.5 % and ES 97.5 % from
the ``window`` sessions before t, for every desk (portfolio) and for the bank (all desks' positions
summed); the book is the latest stored positions, held fixed (a hypothetical book, as MAR32's
hypothetical P&L). Then, per book and with this release's own engine:

* hypothetical P&L HPL_t = Σ notional × return_t, and the model's risk-theoretical P&L RTPL_t
  (:func:`risk_theoretical_pnl` — for this full-revaluation historical model it is the P&L of the
  scenario the model builds for day t, the same risk factors as HPL);
* VaR 99 % exceptions, the Basel traffic light, Kupiec and Christoffersen p-values;
* the Acerbi–Székely Z2 test of the 97.5 % VaR/ES (simulated p-value), MAR32 desk-level exception
  counts at 99 % and 97.5 %, and the PLA test of RTPL against HPL.

Errors: :class:`BacktestError` (a ``RunInputError``) when the store cannot support the replay.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from risk_service import engine
from risk_service.daily_run.run import RunInputError, _book
from risk_service.store import repository
from risk_service.store.errors import NotFoundError
from risk_service.store.models import Position

FloatArray = NDArray[np.float64]

BANK = "BANK"
#: Null simulations of the Z2 p-values: the bank book's, and each desk's (fewer, so a replay of
#: a thousand desks stays within minutes).
Z2_SIMULATIONS = 10_000
Z2_DESK_SIMULATIONS = 1_000


class BacktestError(RunInputError):
    """The store cannot support the replay (no positions, too little history)."""


def risk_theoretical_pnl(exposures: FloatArray, scenario: FloatArray) -> FloatArray:
    """The model's P&L of each book for one day's scenario (full revaluation, linear books)."""
    return np.asarray(exposures @ scenario, dtype=np.float64)


def _stats(
    pnl: FloatArray,
    *,
    rtpl: FloatArray,
    var99: FloatArray,
    var975: FloatArray,
    es975: FloatArray,
    simulations: int,
) -> dict[str, Any]:
    hits = engine.exceptions(pnl, var99)
    count = int(hits.sum())
    kupiec = engine.kupiec_pof(count, hits.shape[0], 0.99)
    chris = engine.christoffersen(hits, 0.99)
    try:
        z2 = engine.acerbi_szekely_z2(pnl, var975, es975, simulations=simulations)
        z2_figures: tuple[float | None, float | None] = (z2.statistic, z2.p_value)
    except engine.RiskInputError:  # a book whose ES is no loss (all gains): nothing to test
        z2_figures = (None, None)
    desk = engine.desk_backtest(pnl, var99, var975)
    pla = engine.pla_test(pnl, rtpl)
    return {
        "exceptions_99": count,
        "exceptions_975": desk.exceptions_975,
        "traffic_light": engine.traffic_light(count, hits.shape[0], 0.99),
        "kupiec_p_value": kupiec.p_value,
        "christoffersen_p_value_ind": chris.p_value_ind,
        "christoffersen_p_value_cc": chris.p_value_cc,
        "z2": z2_figures[0],
        "z2_p_value": z2_figures[1],
        "desk_eligible": desk.eligible,
        "pla_spearman": pla.spearman,
        "pla_ks": pla.ks,
        "pla_zone": pla.zone,
    }


def _latest_positions_date(session: Session, through: dt.date) -> dt.date:
    found = session.scalar(
        select(func.max(Position.business_date)).where(Position.business_date <= through)
    )
    if found is None:
        raise BacktestError(f"no positions stored on or before {through.isoformat()}")
    return found


def replay(
    factory: sessionmaker[Session],
    *,
    days: int = 250,
    window: int = 250,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """Backtest the model over the last ``days`` sessions through ``as_of`` (default: the latest
    stored); see the module docstring."""
    if days < 20 or window < 100:
        raise BacktestError("the replay needs at least 20 days and a window of 100 sessions")
    with factory() as session:
        _count, _first, last = repository.market_data_summary(session)
        if last is None:
            raise BacktestError("no market data is stored")
        through = min(as_of, last) if as_of else last
        positions_date = _latest_positions_date(session, through + dt.timedelta(days=1))
        book = _book(repository.load_positions(session, positions_date))
        try:
            market = repository.load_market_window(session, through, window + days, book.symbols)
        except NotFoundError as exc:
            raise BacktestError(str(exc)) from exc
    if len(market.dates) < window + days:
        raise BacktestError(
            f"{len(market.dates)} sessions of market data are stored through "
            f"{through.isoformat()}; the replay needs {window + days} ({window} + {days})"
        )
    exposures = np.vstack([book.exposures, book.exposures.sum(axis=0)])
    names = [*book.portfolios, BANK]
    shape = (days, len(names))
    var99, var975, es975 = np.empty(shape), np.empty(shape), np.empty(shape)
    hpl, rtpl = np.empty(shape), np.empty(shape)
    for k in range(days):
        t = window + k
        risk = engine.batch_risk(
            exposures, market.matrix[t - window : t], var_levels=(0.975, 0.99), es_level=0.975
        )
        var99[k], var975[k], es975[k] = risk.var[0.99], risk.var[0.975], risk.es
        hpl[k] = exposures @ market.matrix[t]
        rtpl[k] = risk_theoretical_pnl(exposures, market.matrix[t])
    books = {
        name: _stats(
            hpl[:, j],
            rtpl=rtpl[:, j],
            var99=var99[:, j],
            var975=var975[:, j],
            es975=es975[:, j],
            simulations=Z2_SIMULATIONS if name == BANK else Z2_DESK_SIMULATIONS,
        )
        for j, name in enumerate(names)
    }
    return {
        "as_of": market.dates[-1].isoformat(),
        "positions_date": positions_date.isoformat(),
        "days": days,
        "window": window,
        "first_day": market.dates[window].isoformat(),
        "bank": {**books.pop(BANK), "hpl": hpl[:, -1].tolist(), "rtpl": rtpl[:, -1].tolist()},
        "desks": books,
    }


__all__ = ["BANK", "BacktestError", "replay", "risk_theoretical_pnl"]
