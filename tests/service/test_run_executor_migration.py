"""Migration 0003: the executor and worker count of a run, expand only, up and down."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from risk_service.store import database

from .test_request_samples import _columns

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def _insert_old_style_run(url: str) -> None:
    """A run inserted as a 0002 release does: without the new columns."""
    engine = database.make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO runs (business_date, environment, status, release_version, "
                    'release_digest, git_sha, positions_sha256, market_data_sha256, "window", '
                    "started_at, finished_at, deadline, met_deadline, portfolios, flagged, "
                    "validation) VALUES ('2026-11-25', 'dev', 'succeeded', '1.0.0', 'sha256:x', "
                    "'abc', 'p', 'm', 250, :t, :t, :t, true, 3, 0, '{}')"
                ),
                {"t": NOW},
            )
    finally:
        engine.dispose()


def check_executor_migration(url: str) -> None:
    """0002 → 0003 adds only runs.executor/workers with defaults; 0003 → 0002 removes only them."""
    engine = database.make_engine(url)
    try:
        database.upgrade(engine, "0002")
        before = _columns(url)
        _insert_old_style_run(url)
        database.upgrade(engine, "0003")
        after = _columns(url)
        added = {c[0] for c in after["runs"]} - {c[0] for c in before["runs"]}
        assert added == {"executor", "workers"}
        assert {t: after[t] for t in before if t != "runs"} == {
            t: c for t, c in before.items() if t != "runs"
        }
        with engine.connect() as conn:
            # The run a 0002 release wrote reads as what it was: in-process, one worker.
            assert conn.execute(text("SELECT executor, workers FROM runs")).one() == (
                "in-process",
                1,
            )
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM runs"))
        _insert_old_style_run(url)  # a 0002 release keeps inserting into a 0003 store
        database.downgrade(engine, "0002")
        assert _columns(url) == before
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM runs")).scalar_one() == 1
    finally:
        engine.dispose()


def test_executor_migration_up_and_down_on_sqlite(sqlite_url: str) -> None:
    """SQLite: revision 0003 applies and reverts; runs written by 0002 keep working."""
    check_executor_migration(sqlite_url)


@pytest.mark.postgres
def test_executor_migration_up_and_down_on_postgresql(postgres_url: str) -> None:
    """PostgreSQL: revision 0003 applies and reverts; runs written by 0002 keep working."""
    check_executor_migration(postgres_url)
