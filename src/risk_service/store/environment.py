"""The environment a store belongs to (issue 8, finding 9: the service fails closed).

``risk-service db upgrade`` records the process's (explicit) environment in the store the first
time, and refuses later when the two disagree; a dev process that creates a fresh store records
``dev``. Synthetic market data and positions are refused in a store recorded as staging or prod,
whatever ``RISK_SERVICE_ENVIRONMENT`` the writing process has, and a daily run refuses a store
recorded for another environment than its own. A store migrated before the record existed has
none until its next ``db upgrade`` (riskctl runs one with the explicit environment on every
deploy); until then only the process's own environment guards it.

Errors::

    StoreError
    └── StoreEnvironmentError       the store belongs to another environment / refuses synthetic
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from risk_service.store.errors import StoreError

__all__ = [
    "StoreEnvironmentError",
    "can_record",
    "record_environment",
    "recorded_environment",
    "require_environment",
    "require_synthetic_allowed",
]

_TABLE = sa.table(
    "store_environment",
    sa.column("id", sa.Integer),
    sa.column("environment", sa.String),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
)


class StoreEnvironmentError(StoreError):
    """The store belongs to another environment than the one asked for."""


def recorded_environment(connection: sa.Connection | Session) -> str | None:
    """The environment recorded in the store (None when never recorded)."""
    row = connection.execute(sa.select(_TABLE.c.environment).where(_TABLE.c.id == 1)).first()
    return str(row[0]) if row is not None else None


def record_environment(engine: Engine, environment: str) -> str:
    """Record ``environment`` in a store that has none; refuse when it already has another."""
    with engine.begin() as connection:
        found = recorded_environment(connection)
        if found is None:
            connection.execute(
                sa.insert(_TABLE).values(
                    id=1, environment=environment, recorded_at=dt.datetime.now(dt.UTC)
                )
            )
            return environment
    if found != environment:
        raise StoreEnvironmentError(
            f"this store belongs to {found}, not {environment}: check RISK_SERVICE_ENVIRONMENT "
            "and RISK_SERVICE_DATABASE_URL"
        )
    return found


def require_synthetic_allowed(session: Session) -> None:
    """Refuse synthetic inputs in a store recorded as anything but dev."""
    if not sa.inspect(session.connection()).has_table(_TABLE.name):
        return
    found = recorded_environment(session)
    if found is not None and found != "dev":
        raise StoreEnvironmentError(
            f"synthetic market data and positions are refused in a {found} store; they belong "
            "only in a dev store"
        )


def can_record(engine: Engine) -> bool:
    """Whether the store's schema has the record (revision 0004 or later)."""
    with engine.connect() as connection:
        return sa.inspect(connection).has_table(_TABLE.name)


def require_environment(engine: Engine, environment: str) -> None:
    """Refuse to work on a store recorded for another environment."""
    if not can_record(engine):
        return
    with engine.connect() as connection:
        found = recorded_environment(connection)
    if found is not None and found != environment:
        raise StoreEnvironmentError(
            f"this store belongs to {found}, not {environment}: check RISK_SERVICE_ENVIRONMENT "
            "and RISK_SERVICE_DATABASE_URL"
        )
