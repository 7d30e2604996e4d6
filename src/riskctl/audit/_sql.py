"""SQLAlchemy Core implementation of :class:`riskctl.audit.store.AuditStore` (PostgreSQL); the
schema and statements are :mod:`riskctl.audit._schema`'s."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from riskctl.audit._schema import (
    CHECKPOINT_TABLE,
    COSIGNATURE_TABLE,
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

__all__ = [
    "CHECKPOINT_TABLE",
    "COSIGNATURE_TABLE",
    "CREATE_CHECKPOINTS",
    "CREATE_COSIGNATURES",
    "CREATE_ENTRIES",
    "ENTRY_TABLE",
    "SqlAuditStore",
]


class SqlAuditStore:
    """Entries and checkpoints in two tables; subclasses add dialect-specific guards."""

    description = "sql"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _lock(self, conn: Connection) -> None:
        """Serialise appenders (the primary key catches any race that slips through)."""

    def _tables_exist(self) -> bool:
        names = set(sa.inspect(self.engine).get_table_names())
        return {ENTRY_TABLE, CHECKPOINT_TABLE} <= names

    def append(self, make: Callable[[int], Sequence[StoredEntry]]) -> list[StoredEntry]:
        last: Exception | None = None
        for _ in range(RETRIES):
            try:
                with self.engine.begin() as conn:
                    self._lock(conn)
                    size = conn.execute(sa.text(SIZE)).scalar_one()
                    rows = list(make(int(size)))
                    if rows:
                        conn.execute(
                            sa.text(INSERT_ENTRY),
                            [r.__dict__ for r in rows],
                        )
                    return rows
            except sa.exc.IntegrityError as exc:  # a concurrent appender took our seq
                last = exc
            except sa.exc.SQLAlchemyError as exc:
                raise AuditError(f"cannot append to the audit log: {_short(exc)}") from None
        raise AuditError(f"cannot append to the audit log: {_short(last)}")

    def _rows(self, select: str, what: str) -> list[tuple[Any, ...]]:
        try:
            with self.engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(select))]
        except sa.exc.SQLAlchemyError as exc:
            raise AuditError(f"cannot read {what}: {_short(exc)}") from None

    def entries(self) -> list[StoredEntry]:
        rows = self._rows(SELECT_ENTRIES, "the audit log")
        return [StoredEntry(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.text(INSERT_CHECKPOINT),
                    checkpoint.__dict__,
                )
        except sa.exc.IntegrityError:
            return  # the same tree head is already recorded
        except sa.exc.SQLAlchemyError as exc:
            raise AuditError(f"cannot write a checkpoint: {_short(exc)}") from None

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self._rows(SELECT_CHECKPOINTS, "checkpoints")
        return [StoredCheckpoint(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def add_cosignature(self, cosignature: StoredCosignature) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.text(INSERT_COSIGNATURE), cosignature.__dict__)
        except sa.exc.IntegrityError:
            return  # this witness's cosignature on that tree head is already kept
        except sa.exc.SQLAlchemyError as exc:
            raise AuditError(f"cannot write a cosignature: {_short(exc)}") from None

    def cosignatures(self) -> list[StoredCosignature]:
        try:
            with self.engine.connect() as conn:
                if COSIGNATURE_TABLE not in sa.inspect(conn).get_table_names():
                    return []  # a PostgreSQL store initialised before witnesses existed
                result = conn.execute(sa.text(SELECT_COSIGNATURES))
                return [StoredCosignature(int(r[0]), r[1], r[2], r[3]) for r in result]
        except sa.exc.SQLAlchemyError as exc:
            raise AuditError(f"cannot read cosignatures: {_short(exc)}") from None

    def close(self) -> None:
        self.engine.dispose()


def _short(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
