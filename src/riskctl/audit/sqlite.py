"""The default audit store: a SQLite file (``$RISKCTL_HOME/audit.sqlite``).

Written through the standard library's :mod:`sqlite3`, not SQLAlchemy: every command that
records opens this store, and SQLAlchemy's import (~0.25 s) was the largest single cost of
``riskctl abort`` (issue 11, item 4). The tables and statements are the PostgreSQL store's
(:mod:`riskctl.audit._schema`), so there is one store format. Appenders are serialised with
``BEGIN IMMEDIATE`` (the write lock is taken before the size is read); the primary key still
catches anything that slips through, and the append is retried.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from riskctl.audit._schema import (
    CHECKPOINT_TABLE,
    CREATE_CHECKPOINTS,
    CREATE_COSIGNATURES,
    CREATE_ENTRIES,
    ENTRY_TABLE,
    INSERT_CHECKPOINT,
    INSERT_COSIGNATURE,
    INSERT_ENTRY,
    RETRIES,
    SELECT_CHECKPOINTS,
    SELECT_COSIGNATURES,
    SELECT_ENTRIES,
    SIZE,
)
from riskctl.audit.store import StoredCheckpoint, StoredCosignature, StoredEntry
from riskctl.errors import AuditError

__all__ = ["SqliteAuditStore"]

#: Seconds a writer waits for another's lock (what the SQLAlchemy engine was given).
BUSY_TIMEOUT_S = 30.0

# Guards against accidental edits; anyone who can write the file can drop them, which is why
# integrity rests on signatures and checkpoints, not on these triggers.
_GUARDS = [
    f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}
    BEGIN SELECT RAISE(ABORT, 'riskctl audit tables are append-only'); END"""
    for table in (ENTRY_TABLE, CHECKPOINT_TABLE)
    for op in ("UPDATE", "DELETE")
]


class SqliteAuditStore:
    """SQLite file store; creates its tables on first use.

    A connection per operation (as cheap as a file open), so the store may be used from any
    thread (the dashboard serves requests from a pool).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.description = f"sqlite:{path.name}"
        try:
            with self._write() as conn:
                for statement in (CREATE_ENTRIES, CREATE_CHECKPOINTS, CREATE_COSIGNATURES):
                    conn.execute(statement)
                for guard in _GUARDS:
                    conn.execute(guard)
        except sqlite3.Error as exc:
            raise AuditError(f"cannot open the audit log {path.name}: {_short(exc)}") from None

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are the explicit BEGIN … COMMIT below.
        return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding the database's write lock from its start."""
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def append(self, make: Callable[[int], Sequence[StoredEntry]]) -> list[StoredEntry]:
        last: Exception | None = None
        for _ in range(RETRIES):
            try:
                with self._write() as conn:
                    size = conn.execute(SIZE).fetchone()[0]
                    rows = list(make(int(size)))
                    if rows:
                        conn.executemany(INSERT_ENTRY, [r.__dict__ for r in rows])
                    return rows
            except sqlite3.IntegrityError as exc:  # a concurrent appender took our seq
                last = exc
            except sqlite3.Error as exc:
                raise AuditError(f"cannot append to the audit log: {_short(exc)}") from None
        raise AuditError(f"cannot append to the audit log: {_short(last)}")

    def _rows(self, select: str, what: str) -> list[tuple[Any, ...]]:
        try:
            with closing(self._connect()) as conn:
                return [tuple(r) for r in conn.execute(select)]
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read {what}: {_short(exc)}") from None

    def _insert_once(self, statement: str, values: dict[str, Any], what: str) -> None:
        try:
            with self._write() as conn:
                conn.execute(statement, values)
        except sqlite3.IntegrityError:
            return  # already recorded (the same tree head, or this witness's cosignature)
        except sqlite3.Error as exc:
            raise AuditError(f"cannot write {what}: {_short(exc)}") from None

    def entries(self) -> list[StoredEntry]:
        rows = self._rows(SELECT_ENTRIES, "the audit log")
        return [StoredEntry(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        self._insert_once(INSERT_CHECKPOINT, checkpoint.__dict__, "a checkpoint")

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self._rows(SELECT_CHECKPOINTS, "checkpoints")
        return [StoredCheckpoint(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def add_cosignature(self, cosignature: StoredCosignature) -> None:
        self._insert_once(INSERT_COSIGNATURE, cosignature.__dict__, "a cosignature")

    def cosignatures(self) -> list[StoredCosignature]:
        rows = self._rows(SELECT_COSIGNATURES, "cosignatures")
        return [StoredCosignature(int(r[0]), r[1], r[2], r[3]) for r in rows]

    def close(self) -> None:
        """Nothing held between operations."""


def _short(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
