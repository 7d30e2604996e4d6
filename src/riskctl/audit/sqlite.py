"""The default audit store: a SQLite file (``$RISKCTL_HOME/audit.sqlite``)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from riskctl.audit._sql import (
    CHECKPOINT_TABLE,
    CREATE_CHECKPOINTS,
    CREATE_COSIGNATURES,
    CREATE_ENTRIES,
    ENTRY_TABLE,
    SqlAuditStore,
)

__all__ = ["SqliteAuditStore"]

# Guards against accidental edits; anyone who can write the file can drop them, which is why
# integrity rests on signatures and checkpoints, not on these triggers.
_GUARDS = [
    f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}
    BEGIN SELECT RAISE(ABORT, 'riskctl audit tables are append-only'); END"""
    for table in (ENTRY_TABLE, CHECKPOINT_TABLE)
    for op in ("UPDATE", "DELETE")
]


class SqliteAuditStore(SqlAuditStore):
    """SQLite file store; creates its tables on first use."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 30}))
        self.description = f"sqlite:{path.name}"
        with self.engine.begin() as conn:
            conn.execute(sa.text(CREATE_ENTRIES))
            conn.execute(sa.text(CREATE_CHECKPOINTS))
            conn.execute(sa.text(CREATE_COSIGNATURES))
            for guard in _GUARDS:
                conn.execute(sa.text(guard))
