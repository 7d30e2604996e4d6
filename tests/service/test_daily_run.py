"""The daily risk run: results, idempotency, atomicity, calendar, deadline and validation."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import numpy as np
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from risk_service import engine
from risk_service.daily_run import RunReport, ValidationFailedError, daily_run
from risk_service.daily_run.run import RunInputError, RunRefusedError
from risk_service.marketdata.delivered import DeliveredSource
from risk_service.marketdata.synthetic import positions as synthetic_positions
from risk_service.sessions import nyse
from risk_service.store import repository
from risk_service.store.models import Position, Result, Run, RunAttempt

from .conftest import RELEASE, SPEC, WINDOW, Store, options, source

DAY = dt.date(2026, 11, 25)
NEXT = dt.date(2026, 11, 27)  # the session after Thanksgiving
TOL = 1e-9


def run(store: Store, day: dt.date = DAY, **kwargs: object) -> RunReport:
    """Run the dev book for ``day``."""
    return daily_run(
        store.factory,
        day,
        source=source(),
        release=RELEASE,
        options=kwargs.pop("opts", options()),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def results(store: Store, day: dt.date) -> dict[str, Result]:
    """Stored results of ``day`` by portfolio."""
    with store.factory() as session:
        found = repository.get_run(session, day)
        assert found is not None
        return {r.portfolio_id: r for r in repository.run_results(session, found.id)}


def at(hour: int, minute: int, day: dt.date) -> Callable[[], dt.datetime]:
    """A clock stuck at ``day`` hh:mm UTC."""
    return lambda: dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def test_run_stores_every_portfolio_matching_the_engine(store: Store) -> None:
    """Every portfolio gets VaR 95/99, ES 97.5 and Euler components equal to the engine's own."""
    report = run(store)
    stored = results(store, DAY)
    books: dict[str, dict[str, float]] = {}
    for p in synthetic_positions(SPEC, DAY):
        books.setdefault(p.portfolio_id, {})[p.symbol] = p.notional
    assert report.portfolios == len(books) == len(stored)
    with store.factory() as session:
        previous = nyse().previous_session(DAY)
        symbols = sorted({s for b in books.values() for s in b})
        window = repository.load_market_window(session, previous, WINDOW, symbols)
    columns = {s: window.matrix[:, j] for j, s in enumerate(window.symbols)}
    for pid, book in books.items():
        ref99 = engine.portfolio_var(book, columns, 0.99)
        ref95 = engine.portfolio_var(book, columns, 0.95)
        es = engine.expected_shortfall(sum(n * columns[s] for s, n in book.items()), 0.975)
        r = stored[pid]
        assert math.isclose(r.var_99, ref99.var, rel_tol=TOL, abs_tol=TOL)
        assert math.isclose(r.var_95, ref95.var, rel_tol=TOL, abs_tol=TOL)
        assert math.isclose(r.es_975, es, rel_tol=TOL, abs_tol=TOL)
        assert math.isclose(sum(r.components["99"].values()), r.var_99, rel_tol=1e-9, abs_tol=1e-6)
        assert set(r.components["99"]) == set(book)
        assert math.isclose(r.net_notional, sum(book.values()), abs_tol=1e-6)


def test_rerun_is_idempotent_and_replaces_the_date(store: Store) -> None:
    """Re-running a date replaces its run: one run row, identical figures, replaced flag set."""
    first = run(store)
    before = {k: (v.var_99, v.es_975) for k, v in results(store, DAY).items()}
    second = run(store)
    after = {k: (v.var_99, v.es_975) for k, v in results(store, DAY).items()}
    assert not first.replaced
    assert second.replaced
    assert before == after
    with store.factory() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 1
        assert session.scalar(select(func.count()).select_from(Result)) == len(before)
        assert len(repository.attempts(session, DAY)) == 2


def test_failure_mid_write_leaves_previous_results_intact(store: Store) -> None:
    """A failure injected after results are partly written rolls back: the old run survives."""
    run(store)
    before = {k: v.var_99 for k, v in results(store, DAY).items()}
    with store.factory() as session, session.begin():
        # Change today's book so that a successful re-run would change the numbers.
        session.execute(
            update(Position)
            .where(Position.business_date == DAY)
            .values(notional=Position.notional * 2)
        )

    def explode(_session: Session, written: int) -> None:
        assert written > 0
        raise RuntimeError("disk full (injected)")

    with pytest.raises(RuntimeError, match="injected"):
        run(store, write_hook=explode)
    assert {k: v.var_99 for k, v in results(store, DAY).items()} == before
    with store.factory() as session:
        statuses = [a.status for a in repository.attempts(session, DAY)]
        failed = repository.attempts(session, DAY)[-1]
    assert statuses == ["succeeded", "failed"]
    assert "injected" in failed.message


def test_thanksgiving_is_refused_with_a_clear_message(store: Store) -> None:
    """2026-11-26 (Thanksgiving) is not a session: the run is refused and nothing is written."""
    with pytest.raises(
        RunRefusedError, match=r"2026-11-26 is not an NYSE session \(an NYSE holiday\)"
    ):
        run(store, dt.date(2026, 11, 26))
    with pytest.raises(RunRefusedError, match="weekend"):
        run(store, dt.date(2026, 11, 28))
    with store.factory() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 0


@pytest.mark.parametrize(
    ("day", "deadline_utc"),
    [
        (dt.date(2026, 3, 6), dt.datetime(2026, 3, 6, 11, 0, tzinfo=dt.UTC)),  # EST
        (dt.date(2026, 3, 9), dt.datetime(2026, 3, 9, 10, 0, tzinfo=dt.UTC)),  # EDT from Mar 8
        (dt.date(2026, 10, 30), dt.datetime(2026, 10, 30, 10, 0, tzinfo=dt.UTC)),  # EDT
        (dt.date(2026, 11, 2), dt.datetime(2026, 11, 2, 11, 0, tzinfo=dt.UTC)),  # EST from Nov 1
    ],
)
def test_deadline_is_six_new_york_across_dst(
    store: Store, day: dt.date, deadline_utc: dt.datetime
) -> None:
    """The recorded deadline is 06:00 New York; a 10:30 UTC finish meets it only in winter."""
    report = run(store, day, clock=at(10, 30, day))
    assert report.deadline == deadline_utc
    assert report.met_deadline is (deadline_utc.hour == 11)
    with store.factory() as session:
        stored = repository.get_run(session, day)
        assert stored is not None
        assert stored.met_deadline is report.met_deadline


def test_day_over_day_moves_are_flagged(store: Store) -> None:
    """A book that triples overnight is flagged for review; unchanged books are not."""
    run(store)
    run(store, NEXT)  # generates NEXT's positions
    with store.factory() as session, session.begin():
        session.execute(
            update(Position)
            .where(Position.business_date == NEXT, Position.portfolio_id == "PF0001")
            .values(notional=Position.notional * 3)
        )
    report = run(store, NEXT)
    flagged = {r.portfolio_id: r for r in results(store, NEXT).values() if r.flagged}
    assert "PF0001" in flagged
    assert "day over day" in flagged["PF0001"].flag_reason
    assert report.flagged == len(flagged)
    assert report.validation["flags"][0]["portfolio_id"] in flagged


def test_yesterdays_var_is_backtested_against_realised_pnl(store: Store) -> None:
    """The next session's run compares each portfolio's realised P&L with yesterday's VaR 99."""
    run(store)
    report = run(store, NEXT)
    today = results(store, NEXT)
    yesterday = results(store, DAY)
    with store.factory() as session:
        window = repository.load_market_window(session, DAY, 1)
        prev_positions = repository.load_positions(session, DAY)
    index = window.column_index()
    for pid, r in today.items():
        realised = sum(
            p.notional * window.matrix[0, index[p.symbol]]
            for p in prev_positions
            if p.portfolio_id == pid
        )
        assert r.realised_pnl is not None
        assert math.isclose(r.realised_pnl, realised, rel_tol=1e-9, abs_tol=1e-6)
        assert r.exception == bool(-realised > yesterday[pid].var_99)
    backtest = report.validation["backtest"]
    assert backtest["tested"] == len(today)
    assert backtest["exceptions"] == sum(bool(r.exception) for r in today.values())
    assert sum(backtest["zones"].values()) == len(today)


def test_red_zone_is_reported_when_exceptions_pile_up(store: Store) -> None:
    """Ten or more exceptions in the backtest window put a portfolio in the red zone."""
    run(store)
    with store.factory() as session, session.begin():
        first = repository.get_run(session, DAY)
        assert first is not None
        session.execute(update(Result).values(exception=True, realised_pnl=-1.0))
        for k in range(1, 12):  # eleven earlier fake runs, each with an exception
            day = DAY - dt.timedelta(days=400 + k)
            clone = Run(
                **{
                    c.name: getattr(first, c.name)
                    for c in Run.__table__.columns
                    if c.name not in {"id", "business_date"}
                },
                business_date=day,
            )
            session.add(clone)
            session.flush()
            session.add(
                Result(
                    run_id=clone.id,
                    portfolio_id="PF0002",
                    var_95=1.0,
                    var_99=1.0,
                    es_975=1.0,
                    gross_notional=1.0,
                    net_notional=1.0,
                    components={},
                    flagged=False,
                    flag_reason="",
                    exception=True,
                    realised_pnl=-2.0,
                )
            )
    report = run(store, NEXT)
    assert "PF0002" in report.validation["backtest"]["red"]


def test_non_finite_output_fails_validation_and_keeps_old_results(store: Store) -> None:
    """A non-finite figure fails validation: the run is refused and the date's results kept."""
    run(store)
    before = {k: v.var_99 for k, v in results(store, DAY).items()}
    with store.factory() as session, session.begin():
        session.execute(
            update(Position)
            .where(Position.business_date == DAY, Position.portfolio_id == "PF0003")
            .values(notional=1e308)
        )
    with pytest.raises((ValidationFailedError, RunInputError)):
        run(store)
    assert {k: v.var_99 for k, v in results(store, DAY).items()} == before


def test_delivered_source_requires_positions_and_fresh_market_data(store: Store) -> None:
    """In staging/prod a run without delivered positions or complete market data is refused."""
    prod = options("prod")
    with pytest.raises(RunInputError, match="no positions delivered for 2026-11-25"):
        daily_run(store.factory, DAY, source=DeliveredSource(), release=RELEASE, options=prod)
    run(store)  # the dev source stores the inputs of DAY
    report = daily_run(store.factory, DAY, source=DeliveredSource(), release=RELEASE, options=prod)
    assert report.portfolios == SPEC.portfolios
    with store.factory() as session, session.begin():
        rows = synthetic_positions(SPEC, NEXT)
        repository.replace_positions(session, NEXT, rows)
        # Drop the last stored session: NEXT's window is now incomplete.
        from risk_service.store.models import MarketDay  # noqa: PLC0415

        session.execute(MarketDay.__table__.delete().where(MarketDay.business_date == DAY))
    with pytest.raises(RunInputError, match="market data incomplete"):
        daily_run(store.factory, NEXT, source=DeliveredSource(), release=RELEASE, options=prod)
    with store.factory() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(RunAttempt).where(RunAttempt.status == "failed")
            )
            == 2
        )


def test_too_short_a_window_is_an_input_error(store: Store) -> None:
    """A window too short for VaR 99 is refused rather than silently under-resolved."""
    with pytest.raises(RunInputError, match="cannot resolve"):
        run(store, opts=options().__class__(environment="dev", window=50))


@pytest.mark.postgres
def test_same_results_on_sqlite_and_postgresql(store: Store, pg_store: Store) -> None:
    """SQLite and PostgreSQL stores give identical figures for the same inputs."""
    run(store)
    run(pg_store)
    run(store, NEXT)
    run(pg_store, NEXT)
    for day in (DAY, NEXT):
        a, b = results(store, day), results(pg_store, day)
        assert a.keys() == b.keys()
        for pid in a:
            assert (a[pid].var_95, a[pid].var_99, a[pid].es_975) == (
                b[pid].var_95,
                b[pid].var_99,
                b[pid].es_975,
            )
            assert a[pid].components == b[pid].components
            assert a[pid].exception == b[pid].exception
    with store.factory() as s1, pg_store.factory() as s2:
        r1, r2 = repository.get_run(s1, NEXT), repository.get_run(s2, NEXT)
        assert r1 is not None
        assert r2 is not None
        assert (r1.positions_sha256, r1.market_data_sha256) == (
            r2.positions_sha256,
            r2.market_data_sha256,
        )


pytestmark = [pytest.mark.filterwarnings("error")]
_ = np
