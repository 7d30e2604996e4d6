"""The store: migrations up and down on SQLite and PostgreSQL, and market-data storage."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import inspect

from risk_service.store import database, repository
from risk_service.store.errors import NotFoundError, StoreError

from .conftest import Store

TABLES = {
    "instruments",
    "symbol_sets",
    "market_data",
    "positions",
    "runs",
    "results",
    "run_attempts",
    "api_tokens",
}


def check_up_down(url: str) -> None:
    """Upgrade to head, downgrade to base, upgrade again."""
    engine = database.make_engine(url)
    try:
        assert database.current_revision(engine) is None
        assert not database.schema_at_head(engine)
        database.upgrade(engine)
        assert database.schema_at_head(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
        database.downgrade(engine, "base")
        assert database.current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
        database.upgrade(engine)
        assert database.current_revision(engine) == database.head_revision()
    finally:
        engine.dispose()


def test_migrations_up_and_down_on_sqlite(sqlite_url: str) -> None:
    """SQLite: migrations apply, revert to an empty schema and re-apply."""
    check_up_down(sqlite_url)


@pytest.mark.postgres
def test_migrations_up_and_down_on_postgresql(postgres_url: str) -> None:
    """PostgreSQL: migrations apply, revert to an empty schema and re-apply."""
    check_up_down(postgres_url)


def test_bad_migration_target_is_a_store_error(store: Store) -> None:
    """A failing migration surfaces as StoreError, not a driver traceback."""
    store.engine.dispose()
    unreachable = database.make_engine("postgresql+psycopg://x@127.0.0.1:1/x?connect_timeout=1")
    with pytest.raises(StoreError, match="migration failed"):
        database.upgrade(unreachable)
    with pytest.raises(StoreError, match="migration failed"):
        database.downgrade(unreachable, "base")


def test_market_window_roundtrip_and_symbol_selection(store: Store) -> None:
    """Stored returns come back bit-for-bit, by column and in date order."""
    dates = [dt.date(2026, 1, 2), dt.date(2026, 1, 5), dt.date(2026, 1, 6)]
    matrix = np.arange(9, dtype=np.float64).reshape(3, 3) / 100
    with store.factory() as session, session.begin():
        repository.put_market_days(session, dates, ["A", "B", "C"], matrix, "test")
    with store.factory() as session:
        full = repository.load_market_window(session, dt.date(2026, 1, 6), 10)
        part = repository.load_market_window(session, dt.date(2026, 1, 5), 1, ["C", "A"])
        assert repository.market_data_summary(session) == (3, dates[0], dates[-1])
        with pytest.raises(NotFoundError, match="no market data for Z"):
            repository.load_market_window(session, dt.date(2026, 1, 6), 2, ["A", "Z"])
        with pytest.raises(NotFoundError, match="on or before 2025-12-31"):
            repository.load_market_window(session, dt.date(2025, 12, 31), 2)
    assert full.dates == tuple(dates)
    np.testing.assert_array_equal(full.matrix, matrix)
    assert part.symbols == ("C", "A")
    np.testing.assert_array_equal(part.matrix, [[0.05, 0.03]])
    assert len(full.sha256()) == 64


def test_market_window_across_changed_symbol_sets(store: Store) -> None:
    """When the universe changes inside a window, columns align by symbol."""
    with store.factory() as session, session.begin():
        repository.put_market_days(
            session, [dt.date(2026, 1, 2)], ["A", "B"], np.array([[0.1, 0.2]]), "t"
        )
        repository.put_market_days(
            session, [dt.date(2026, 1, 5)], ["B", "C", "A"], np.array([[0.3, 0.4, 0.5]]), "t"
        )
    with store.factory() as session:
        common = repository.load_market_window(session, dt.date(2026, 1, 5), 2)
        chosen = repository.load_market_window(session, dt.date(2026, 1, 5), 2, ["B"])
        with pytest.raises(NotFoundError, match="C on 2026-01-02"):
            repository.load_market_window(session, dt.date(2026, 1, 5), 2, ["C"])
    assert common.symbols == ("A", "B")
    np.testing.assert_array_equal(common.matrix, [[0.1, 0.2], [0.5, 0.3]])
    np.testing.assert_array_equal(chosen.matrix, [[0.2], [0.3]])


def test_mismatched_matrix_is_refused(store: Store) -> None:
    """A matrix that does not match its dates and symbols is refused."""
    with store.factory() as session, pytest.raises(StoreError, match="does not match"):
        repository.put_market_days(session, [dt.date(2026, 1, 2)], ["A"], np.zeros((2, 1)), "t")
