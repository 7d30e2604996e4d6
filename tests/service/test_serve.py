"""`risk-service serve` as deployed: several workers, shared metrics, JSON logs with request ids."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from risk_service.auth import Scope, create_token
from risk_service.daily_run import daily_run
from risk_service.store import database

from .conftest import RELEASE, LiveServer, free_port, options, settings_for, source

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REQUESTS = 40


@pytest.fixture
def served(seeded_url: str, tmp_path: Path) -> Iterator[tuple[str, str, Path, Path]]:
    """A prod-mode `risk-service serve --workers 2`; yields (url, token, log file, metrics dir)."""
    engine = database.make_engine(seeded_url)
    token = create_token(database.session_factory(engine), f"serve-{os.getpid()}", Scope.COMPUTE)
    engine.dispose()
    port = free_port()
    log = tmp_path / "serve.log"
    metrics_dir = tmp_path / "metrics"
    env = {
        **os.environ,
        "RISK_SERVICE_DATABASE_URL": seeded_url,
        "RISK_SERVICE_ENVIRONMENT": "prod",
        "RISK_SERVICE_LOG_LEVEL": "INFO",
        "RISK_SERVICE_WINDOW": "250",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    cli = Path(sys.executable).with_name("risk-service")
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [str(cli), "serve", "--port", str(port), "--workers", "2"],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("serve did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.1)
        yield url, token, log, metrics_dir
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _total(text: str, route: str) -> float:
    pattern = re.compile(
        r"^risk_service_http_requests_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$", re.M
    )
    total = 0.0
    for m in pattern.finditer(text):
        labels = m.group("labels")
        if f'route="{route}"' in labels and 'status="200"' in labels:
            total += float(m.group("value"))
    return total


def test_metrics_are_correct_across_workers(served: tuple[str, str, Path, Path]) -> None:
    """Requests spread over two workers are all counted, whichever worker serves /metrics."""
    url, token, log, metrics_dir = served
    headers = {"Authorization": f"Bearer {token}"}
    for k in range(REQUESTS):
        # A fresh connection each time lets the kernel hand requests to either worker.
        r = httpx.post(
            f"{url}/v1/var",
            json={"returns": [0.01, -0.02, 0.003 * k, -0.01]},
            headers={**headers, "X-Request-ID": f"req-{k}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
    totals = {_total(httpx.get(f"{url}/metrics", timeout=10).text, "/v1/var") for _ in range(10)}
    assert totals == {float(REQUESTS)}
    pids = {p.name.rsplit("_", 1)[-1] for p in metrics_dir.glob("counter_*.db")}
    assert len(pids) >= 2, "expected metric files of both workers"
    time.sleep(0.5)
    lines = [ln for ln in log.read_text().splitlines() if ln.startswith("{")]
    events = [json.loads(ln) for ln in lines]
    served_ids = {e["request_id"] for e in events if e.get("event") == "request"}
    assert {f"req-{k}" for k in range(REQUESTS)} <= served_ids
    assert all(e["level"] and e["timestamp"] for e in events)
    assert token not in log.read_text()


def test_serve_refuses_an_unmigrated_prod_store(tmp_path: Path) -> None:
    """`serve` in prod on an unmigrated store exits 1 with a one-line reason."""
    cli = Path(sys.executable).with_name("risk-service")
    env = {
        **os.environ,
        "RISK_SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
        "RISK_SERVICE_ENVIRONMENT": "prod",
    }
    result = subprocess.run(
        [str(cli), "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "risk-service db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.postgres
def test_api_serves_runs_from_postgresql(postgres_url: str) -> None:
    """A server on a PostgreSQL store is ready and serves the stored run."""
    from .conftest import migrated  # noqa: PLC0415

    store = migrated(postgres_url)
    import datetime as dt  # noqa: PLC0415

    daily_run(store.factory, dt.date(2026, 11, 25), source=source(), release=RELEASE,
              options=options())  # fmt: skip
    with LiveServer(settings_for(postgres_url)) as server, server.client() as c:
        assert c.get("/readyz").status_code == 200
        body = c.get("/v1/runs/2026-11-25").json()
        assert body["status"] == "succeeded"
        assert len(body["portfolios"]) == 6
        r = c.post(
            "/v1/portfolio/var", json={"positions": {body["portfolios"][0]["portfolio_id"]: 1.0}}
        )
        assert r.status_code == 422
    store.engine.dispose()
