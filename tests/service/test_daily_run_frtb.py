"""The daily run's FRTB figures: liquidity horizons by asset class, the cascade, stressed ES."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from risk_service import engine
from risk_service.daily_run import daily_run
from risk_service.daily_run.frtb import (
    HORIZON_BY_CLASS,
    frtb_outputs,
    load_horizons,
)
from risk_service.marketdata.synthetic import positions as synthetic_positions
from risk_service.marketdata.synthetic import universe
from risk_service.sessions import nyse
from risk_service.store import repository

from .conftest import RELEASE, SPEC, WINDOW, Store, options, source

DAY = dt.date(2026, 11, 25)
TOL = 1e-9


def _run_validation(store: Store, window: int = WINDOW) -> dict[str, Any]:
    daily_run(
        store.factory,
        DAY,
        source=source(),
        release=RELEASE,
        options=options().__class__(environment="dev", window=window),
    )
    with store.factory() as session:
        found = repository.get_run(session, DAY)
        assert found is not None
        return dict(found.validation)


def test_run_reports_frtb_figures_equal_to_the_engine(store: Store) -> None:
    """Each portfolio's FRTB ES and stressed ES are engine.frtb_es's on the run's own inputs,
    with horizons from the asset classes and the book's 10-day instruments as the reduced set;
    the share it explains is checked against 75 % and the stressed period named by its dates.
    """
    frtb = _run_validation(store)["frtb"]
    books: dict[str, dict[str, float]] = {}
    for p in synthetic_positions(SPEC, DAY):
        books.setdefault(p.portfolio_id, {})[p.symbol] = p.notional
    assert set(frtb["portfolios"]) == set(books)
    assert (frtb["confidence"], frtb["base_horizon"], frtb["history_days"]) == (0.975, 10, WINDOW)
    u = universe(SPEC)
    classes = dict(zip(u.symbols, u.asset_classes, strict=True))
    with store.factory() as session:
        previous = nyse().previous_session(DAY)
        symbols = sorted({s for b in books.values() for s in b})
        window = repository.load_market_window(session, previous, WINDOW, symbols)
        horizons = load_horizons(session, symbols)
    assert horizons == {s: HORIZON_BY_CLASS[classes[s]] for s in symbols}
    columns = {s: window.matrix[:, j] for j, s in enumerate(window.symbols)}
    for pid, book in books.items():
        got = frtb["portfolios"][pid]
        assert got["reduced_factors"] == sorted(s for s in book if horizons[s] == 10)
        ref = engine.frtb_es(
            book,
            {s: columns[s] for s in book},
            {s: horizons[s] for s in book},
            reduced_factors=got["reduced_factors"],
        )
        assert ref.stressed is not None
        assert got["liquidity_adjusted_es"] == pytest.approx(ref.liquidity_adjusted_es, rel=TOL)
        assert got["es_by_horizon"] == pytest.approx(list(ref.es_by_horizon), rel=TOL, abs=TOL)
        assert got["stressed_es"] == pytest.approx(ref.stressed.stressed_es, rel=TOL)
        assert got["reduced_share"] == pytest.approx(ref.stressed.reduced_share, rel=TOL)
        assert got["reduced_share_ok"] is (got["reduced_share"] >= 0.75)
        start, end = got["stress_period"]
        assert start == str(window.dates[ref.stressed.window.start])
        assert end == str(window.dates[ref.stressed.window.stop - 1])


def test_short_history_gives_a_note_and_the_run_still_succeeds(store: Store) -> None:
    """A window shorter than the 250-day periods: the VaR run succeeds; FRTB says why not."""
    frtb = _run_validation(store, window=200)["frtb"]
    assert frtb["portfolios"] == {}
    assert "need 250 days" in frtb["note"]


def test_a_portfolio_that_cannot_be_measured_gets_a_note() -> None:
    """A book with no P&L at all (flat returns) has no ES to scale by: a note, not a failure,
    and the other portfolios are measured."""
    rng = np.random.default_rng(1)
    matrix = np.column_stack([rng.normal(0, 0.01, 300), np.zeros(300)])
    dates = [dt.date(2025, 1, 1) + dt.timedelta(days=k) for k in range(300)]
    out = frtb_outputs(
        ["live", "flat"],
        symbols=["A", "B"],
        exposures=np.array([[1e6, 0.0], [0.0, 1e6]]),
        dates=dates,
        matrix=matrix,
        horizons={"A": 10, "B": 10},
    )
    assert "stressed_es" in out["portfolios"]["live"]
    assert out["portfolios"]["flat"]["note"].startswith("FRTB figures not formed")


def test_overflowing_figures_get_a_note() -> None:
    """P&L so large the ES overflows gives a note (JSON holds no infinity), not a failure."""
    matrix = np.random.default_rng(2).normal(0.0, 1e150, (300, 1))
    dates = list(range(300))
    with np.errstate(all="ignore"):
        out = frtb_outputs(
            ["huge"],
            symbols=["A"],
            exposures=np.array([[1e10]]),
            dates=dates,
            matrix=matrix,
            horizons={"A": 10},
        )
    note = out["portfolios"]["huge"]["note"]
    assert note.startswith("FRTB figures not formed")
    assert "finite" in note
