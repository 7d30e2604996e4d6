"""Which audit store a RISKCTL_DATABASE_URL names (riskctl.audit.stores), and the default
SQLite store (riskctl.audit.sqlite)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pytest

from riskctl.audit._schema import ENTRY_TABLE
from riskctl.audit.sqlite import SqliteAuditStore
from riskctl.audit.store import StoredCheckpoint, StoredCosignature, StoredEntry
from riskctl.audit.stores import open_store, store_url_kind
from riskctl.errors import AuditError, UsageError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, ("sqlite", "")),
        ("", ("sqlite", "")),
        ("sqlite:////var/lib/riskctl/audit.db", ("sqlite", "/var/lib/riskctl/audit.db")),
        ("postgresql://u@db/audit", ("postgresql", "postgresql+psycopg://u@db/audit")),
        ("postgres://u@db/audit", ("postgresql", "postgresql+psycopg://u@db/audit")),
        ("postgresql+psycopg://u@db/audit", ("postgresql", "postgresql+psycopg://u@db/audit")),
    ],
)
def test_store_urls(url: str | None, expected: tuple[str, str]) -> None:
    """Unset means SQLite in the home; postgres URLs are normalised to the psycopg driver."""
    assert store_url_kind(url) == expected


@pytest.mark.parametrize(
    "url", ["mysql://u@db/audit", "sqlite://relative.db", "file:///tmp/a", "postgresql"]
)
def test_other_urls_are_usage_errors(url: str) -> None:
    """Any other scheme (or a relative sqlite URL) is refused with a usage error (exit 2)."""
    with pytest.raises(UsageError, match="postgresql:// or sqlite:///"):
        store_url_kind(url)


def test_sqlite_by_default_lives_in_the_home(tmp_path: Path) -> None:
    """Without a URL the store is `audit.sqlite` under the home."""
    store = open_store(tmp_path, None)
    try:
        assert isinstance(store, SqliteAuditStore)
        assert (tmp_path / "audit.sqlite").exists()
    finally:
        store.close()


def _entry(seq: int, body: str = "{}") -> StoredEntry:
    return StoredEntry(seq, body, f"{seq:064x}", "k1", f"sig{seq}")


def test_sqlite_store_round_trips_entries_checkpoints_and_cosignatures(tmp_path: Path) -> None:
    """What the stdlib SQLite store writes it reads back, in order, with the sizes it was given."""
    store = SqliteAuditStore(tmp_path / "audit.sqlite")
    sizes: list[int] = []

    def make(n: int) -> list[StoredEntry]:
        sizes.append(n)
        return [_entry(n + 1, f'{{"n": {n}}}'), _entry(n + 2)]

    store.append(make)
    store.append(make)
    assert sizes == [0, 2]
    assert [e.seq for e in store.entries()] == [1, 2, 3, 4]
    assert store.entries()[2] == _entry(3, '{"n": 2}')
    cp = StoredCheckpoint(4, "ab" * 32, "2026-03-02T15:00:00Z", "k1", "s")
    store.add_checkpoint(cp)
    store.add_checkpoint(cp)  # the same tree head twice is kept once
    assert store.checkpoints() == [cp]
    co = StoredCosignature(4, "ab" * 32, "w1", "— w1 line")
    store.add_cosignature(co)
    store.add_cosignature(co)
    assert store.cosignatures() == [co]


def test_sqlite_store_keeps_the_schema_sqlalchemy_wrote(tmp_path: Path) -> None:
    """One store format: a file created by the PostgreSQL store's SQLAlchemy code path (same
    statements) is read by the stdlib store, and the stdlib store's file by SQLAlchemy."""
    import sqlalchemy as sa  # noqa: PLC0415

    from riskctl.audit._sql import SqlAuditStore  # noqa: PLC0415

    path = tmp_path / "audit.sqlite"
    SqliteAuditStore(path).append(lambda n: [_entry(n + 1)])
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        other = SqlAuditStore(engine)
        assert other.entries() == [_entry(1)]
        other.append(lambda n: [_entry(n + 1, '{"by": "sqlalchemy"}')])
    finally:
        engine.dispose()
    assert SqliteAuditStore(path).entries() == [_entry(1), _entry(2, '{"by": "sqlalchemy"}')]


@pytest.mark.parametrize("statement", ["UPDATE {t} SET body = 'x'", "DELETE FROM {t}"])
def test_sqlite_store_tables_refuse_edits(tmp_path: Path, statement: str) -> None:
    """The append-only guards are installed: an UPDATE or DELETE on the entries is refused."""
    path = tmp_path / "audit.sqlite"
    SqliteAuditStore(path).append(lambda n: [_entry(n + 1)])
    with closing(sqlite3.connect(path)) as conn, pytest.raises(sqlite3.DatabaseError):
        conn.execute(statement.format(t=ENTRY_TABLE))
    assert SqliteAuditStore(path).entries() == [_entry(1)]


def test_sqlite_store_append_is_all_or_none(tmp_path: Path) -> None:
    """A batch whose second row collides is not half-written: the store keeps what it had and
    says why (AuditError after the retries), never a raw sqlite3 error."""
    store = SqliteAuditStore(tmp_path / "audit.sqlite")
    store.append(lambda n: [_entry(n + 1)])
    with pytest.raises(AuditError, match="cannot append to the audit log"):
        store.append(lambda n: [_entry(n + 1), _entry(1)])
    assert store.entries() == [_entry(1)]


def test_sqlite_store_concurrent_appenders_get_distinct_seqs(tmp_path: Path) -> None:
    """Appenders in parallel threads never lose or duplicate an entry (BEGIN IMMEDIATE)."""
    store = SqliteAuditStore(tmp_path / "audit.sqlite")

    def work() -> None:
        for _ in range(10):
            store.append(lambda n: [_entry(n + 1)])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [e.seq for e in store.entries()] == list(range(1, 41))


def test_sqlite_store_unreadable_file_is_an_audit_error(tmp_path: Path) -> None:
    """A file that is not a database gives a clear AuditError, not a traceback."""
    path = tmp_path / "audit.sqlite"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(AuditError, match="audit"):
        SqliteAuditStore(path)


def test_opening_the_default_store_does_not_import_sqlalchemy(tmp_path: Path) -> None:
    """The default store (what `riskctl abort` records into) is opened without SQLAlchemy."""
    probe = (
        "import sys; from pathlib import Path; from riskctl.audit.stores import open_store; "
        f"open_store(Path({str(tmp_path)!r}), None).append(lambda n: []); "
        "print('sqlalchemy' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"
