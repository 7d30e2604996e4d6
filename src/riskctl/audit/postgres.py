"""The PostgreSQL audit store (``RISKCTL_DATABASE_URL``), append-only for the application role.

The database owner runs ``riskctl audit init --app-role ROLE`` once: it creates the tables, a
trigger that refuses UPDATE, DELETE and TRUNCATE for everyone, and grants ROLE only SELECT and
INSERT. riskctl then connects as ROLE.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskctl.audit._sql import (
    CHECKPOINT_TABLE,
    COSIGNATURE_TABLE,
    CREATE_CHECKPOINTS,
    CREATE_COSIGNATURES,
    CREATE_ENTRIES,
    ENTRY_TABLE,
    SqlAuditStore,
    _short,
)
from riskctl.errors import AuditError, UsageError

__all__ = ["PostgresAuditStore"]

_LOCK_KEY = 0x7269736B63746C  # "riskctl": one advisory lock serialises appenders
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION riskctl_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'riskctl audit tables are append-only: % refused', TG_OP;
END
$$"""


class PostgresAuditStore(SqlAuditStore):
    """PostgreSQL store; the tables must exist (see :meth:`install`)."""

    def __init__(self, url: str) -> None:
        try:
            engine = sa.create_engine(url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise UsageError(f"bad RISKCTL_DATABASE_URL: {exc}") from None
        super().__init__(engine)
        self.description = f"postgresql:{engine.url.database}"

    def _lock(self, conn: Connection) -> None:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})

    def check_ready(self) -> None:
        """Fail clearly when the database is unreachable or not initialised."""
        try:
            ready = self._tables_exist()
        except sa.exc.SQLAlchemyError as exc:
            raise AuditError(f"cannot reach the audit database: {_short(exc)}") from None
        if not ready:
            raise AuditError(
                "the audit tables do not exist: run `riskctl audit init --app-role ROLE` "
                "as the database owner"
            )

    def install(self, app_role: str | None) -> None:
        """Create the tables and the append-only trigger; grant ``app_role`` SELECT, INSERT."""
        if app_role is not None and not _ROLE.match(app_role):
            raise UsageError(f"invalid role name {app_role!r}")
        statements = [CREATE_ENTRIES, CREATE_CHECKPOINTS, CREATE_COSIGNATURES, _GUARD_FUNCTION]
        for table in (ENTRY_TABLE, CHECKPOINT_TABLE, COSIGNATURE_TABLE):
            statements.append(
                f"CREATE OR REPLACE TRIGGER {table}_append_only "
                f"BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION riskctl_audit_append_only()"
            )
            statements.append(f"REVOKE ALL ON {table} FROM PUBLIC")
            if app_role:
                statements.append(f'REVOKE ALL ON {table} FROM "{app_role}"')
                statements.append(f'GRANT SELECT, INSERT ON {table} TO "{app_role}"')
        try:
            with self.engine.begin() as conn:
                for statement in statements:
                    conn.execute(sa.text(statement))
        except sa.exc.SQLAlchemyError as exc:
            raise AuditError(f"cannot initialise the audit database: {_short(exc)}") from None
