"""Fixtures of the service tests: stores (SQLite, PostgreSQL), seeded data and live servers."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from risk_service.api import create_app
from risk_service.config import Settings
from risk_service.daily_run import Release, RunOptions
from risk_service.marketdata.synthetic import SyntheticSource, SyntheticSpec
from risk_service.store import database

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
#: A small but realistic book for fast tests.
SPEC = SyntheticSpec(seed=7, instruments=40, portfolios=6, min_positions=5, max_positions=15)
WINDOW = 250
RELEASE = Release(version="1.2.3", digest="sha256:" + "ab" * 32, git_sha="deadbeef")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file URL."""
    return f"sqlite:///{tmp_path / 'risk.db'}"


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose search path is a fresh PostgreSQL schema, dropped afterwards."""
    schema = f"rs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        )
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of an empty PostgreSQL schema on 127.0.0.1:5432/test."""
    with postgres_schema() as url:
        yield url


@dataclass
class Store:
    """A migrated store."""

    url: str
    engine: Engine
    factory: sessionmaker[Session]


def migrated(url: str) -> Store:
    """Migrate ``url`` to head and return its handles."""
    engine = database.make_engine(url)
    database.upgrade(engine)
    return Store(url, engine, database.session_factory(engine))


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    """A migrated SQLite store."""
    s = migrated(sqlite_url)
    yield s
    s.engine.dispose()


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[Store]:
    """A migrated PostgreSQL store."""
    s = migrated(postgres_url)
    yield s
    s.engine.dispose()


def source() -> SyntheticSource:
    """The dev source of the tests' small book."""
    return SyntheticSource(SPEC)


def options(env: str = "dev", threshold: float = 0.5) -> RunOptions:
    """Run options of the tests."""
    return RunOptions(environment=env, window=WINDOW, move_threshold=threshold)


class LiveServer:
    """A real uvicorn server on 127.0.0.1 running in a thread of the test process: the service
    for ``target`` settings, or ``target`` itself when it is an ASGI application."""

    def __init__(self, target: Settings | Callable[..., Any]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(target) if isinstance(target, Settings) else target
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        # lifespan is off here: close the app's store connections as its shutdown would.
        context = getattr(getattr(self.app, "state", None), "context", None)
        if context is not None:
            context.store.dispose()

    def client(self, **kwargs: object) -> httpx.Client:
        """An HTTP client for this server."""
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)  # type: ignore[arg-type]


def settings_for(url: str, environment: str = "dev", **extra: object) -> Settings:
    """Settings of a test server (explicit, never read from this process's environment)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment=environment,  # type: ignore[arg-type]
        database_url=url,
        window=WINDOW,
        version="1.2.3",
        git_sha="deadbeef",
        artifact_digest="sha256:" + "cd" * 32,
        log_level="WARNING",
        max_cells=200_000,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store with the test book's data and one accepted run (2026-11-25)."""
    from risk_service.daily_run import daily_run  # noqa: PLC0415

    path = tmp_path_factory.mktemp("seeded") / "risk.db"
    s = migrated(f"sqlite:///{path}")
    daily_run(
        s.factory,
        dt.date(2026, 11, 25),
        source=source(),
        release=RELEASE,
        options=options(),
    )
    s.engine.dispose()
    return s.url


@pytest.fixture(scope="module")
def dev_server(seeded_url: str) -> Iterator[LiveServer]:
    """A live dev-mode server over the seeded store."""
    with LiveServer(settings_for(seeded_url)) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_service_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit RISK_SERVICE_* or PROMETHEUS_MULTIPROC_DIR from the caller."""
    for key in list(os.environ):
        if key.startswith("RISK_SERVICE_") or key == "PROMETHEUS_MULTIPROC_DIR":
            monkeypatch.delenv(key)
