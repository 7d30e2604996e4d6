"""Two `risk-service serve` processes on one store (SQLite and PostgreSQL): nothing in the service
assumes it is the only process — tokens, their revocation and the runs are read from the store."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from risk_service.auth import Scope, create_token, revoke_token
from risk_service.daily_run import daily_run
from risk_service.store.models import Position

from .conftest import RELEASE, WINDOW, Store, free_port, migrated, options, source

pytestmark = pytest.mark.integration

DAY = dt.date(2026, 11, 25)
#: TokenCache's ttl (5 s) plus slack for a loaded machine.
REVOCATION_S = 20.0
BODY: dict[str, Any] = {"returns": [0.01, -0.02, 0.015, -0.03, 0.004, -0.011, 0.02, -0.007]}


@contextmanager
def instance(url: str, tmp: Path) -> Iterator[httpx.Client]:
    """One `risk-service serve` process in prod on ``url``, on a free port; a client for it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISK_SERVICE_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        RISK_SERVICE_DATABASE_URL=url,
        RISK_SERVICE_ENVIRONMENT="prod",
        RISK_SERVICE_WINDOW=str(WINDOW),
        RISK_SERVICE_LOG_LEVEL="WARNING",
    )
    command = [str(Path(sys.executable).with_name("risk-service")), "serve", "--port", str(port)]
    log = (tmp / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        deadline = time.monotonic() + 90
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (tmp / f"serve-{port}.log").read_text()
            assert time.monotonic() < deadline, "risk-service serve did not start in 90 s"
            time.sleep(0.2)
        try:
            yield client
        finally:
            client.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def check_two_instances(store: Store, tmp: Path) -> None:
    """Both instances honour one token, see its revocation and serve the latest run alike."""
    daily_run(store.factory, DAY, source=source(), release=RELEASE, options=options())
    compute = create_token(store.factory, "two-instances-compute", Scope.COMPUTE)
    read = create_token(store.factory, "two-instances-read", Scope.READ)
    with ExitStack() as stack:
        a = stack.enter_context(instance(store.url, tmp))
        b = stack.enter_context(instance(store.url, tmp))
        auth = {"Authorization": f"Bearer {compute}"}
        answers = [c.post("/v1/var", json=BODY, headers=auth) for c in (a, b, a, b)]
        assert [r.status_code for r in answers] == [200] * 4, answers[0].text
        assert len({r.json()["var"] for r in answers}) == 1

        # Revoked in the store (as `risk-service token revoke` does): each instance re-checks a
        # token it has seen after TokenCache's 5 s, so both refuse it soon after, and for good.
        revoke_token(store.factory, "two-instances-compute")
        for c in (a, b):
            deadline = time.monotonic() + REVOCATION_S
            while c.post("/v1/var", json=BODY, headers=auth).status_code != 401:
                assert time.monotonic() < deadline, f"{c.base_url} still accepts a revoked token"
                time.sleep(0.25)
        assert [c.post("/v1/var", json=BODY, headers=auth).status_code for c in (a, b)] == [401] * 2

        reader = {"Authorization": f"Bearer {read}"}
        first = [c.get(f"/v1/runs/{DAY.isoformat()}", headers=reader).json() for c in (a, b)]
        assert first[0] == first[1]
        # A re-run of the date elsewhere (another process, a Dask cluster): both serve the new one.
        with store.factory() as session, session.begin():
            session.execute(
                update(Position)
                .where(Position.business_date == DAY)
                .values(notional=Position.notional * 2)
            )
        daily_run(store.factory, DAY, source=source(), release=RELEASE, options=options())
        second = [c.get(f"/v1/runs/{DAY.isoformat()}", headers=reader).json() for c in (a, b)]
        assert second[0] == second[1]
        old = {p["portfolio_id"]: p["var_99"] for p in first[0]["portfolios"]}
        new = {p["portfolio_id"]: p["var_99"] for p in second[0]["portfolios"]}
        assert new.keys() == old.keys()
        assert all(new[k] == pytest.approx(2 * old[k], rel=1e-9) for k in old)


def test_two_instances_on_one_sqlite_store(sqlite_url: str, tmp_path: Path) -> None:
    """SQLite: two serve processes agree on tokens, revocation and runs."""
    store = migrated(sqlite_url)
    try:
        check_two_instances(store, tmp_path)
    finally:
        store.engine.dispose()


@pytest.mark.postgres
def test_two_instances_on_one_postgresql_store(postgres_url: str, tmp_path: Path) -> None:
    """PostgreSQL: two serve processes agree on tokens, revocation and runs."""
    store = migrated(postgres_url)
    try:
        check_two_instances(store, tmp_path)
    finally:
        store.engine.dispose()
