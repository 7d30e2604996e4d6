"""Engine and session factory, and the migration commands (Alembic, configured in code).

The Alembic environment ships inside the package (``risk_service.migrations``), so
``risk-service db upgrade`` works from an installed wheel without an ``alembic.ini``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from risk_service.store.errors import StoreError

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file's directory is created on first use."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` that keep loaded values after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits at the end of the block, or rolls back entirely."""
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration for this package's migrations, bound to ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    try:
        command.upgrade(alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"migration failed: {_first_line(exc)}") from exc


def downgrade(engine: Engine, revision: str) -> None:
    """Revert migrations down to ``revision`` (``base`` removes every table)."""
    try:
        command.downgrade(alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"migration failed: {_first_line(exc)}") from exc


@functools.cache
def head_revision() -> str:
    """The newest migration shipped with this release."""
    script = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://")))
    heads = script.get_heads()
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    """The store's migration revision (``None`` if never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every migration revision this release ships."""
    script = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://")))
    return frozenset(rev.revision for rev in script.walk_revisions())


def schema_compatible(engine: Engine) -> tuple[bool, str]:
    """Whether this release can serve from the store's schema, and why (not).

    At this release's head: yes. At a revision this release does not know: a newer release has
    migrated the shared store (a canary, SPEC §4) — migrations are expand-then-contract, so the
    older release keeps working and stays ready. Behind head, or never migrated: no.
    """
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return True, f"at head {head}"
    if current is None:
        return False, f"no revision, head is {head}"
    if current not in known_revisions():
        return True, f"at {current}, ahead of this release's head {head} (a newer release)"
    return False, f"at {current}, head is {head}"


def schema_at_head(engine: Engine) -> bool:
    """Whether the store is migrated to this release's head."""
    return current_revision(engine) == head_revision()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
