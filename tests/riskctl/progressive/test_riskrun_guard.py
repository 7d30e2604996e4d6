"""The daily risk-run guard on real releases: a bad new release's run falls back to the last
good one, alerts, and every attempt is in the audit trail; deploy failures notify too."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .conftest import Env

pytestmark = pytest.mark.integration

DAY = "2026-11-25"


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.events.append(  # type: ignore[attr-defined]
            json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A real local webhook receiver, configured through RISKCTL_TEST_WEBHOOK_URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.events = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("RISKCTL_TEST_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/h")
    yield server.events  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def _actions(fleet: Env) -> list[str]:
    return [e["action"] for e in fleet("history", "--json").json()["events"]]


def test_failed_run_on_new_release_falls_back_to_last_good(
    fleet: Env, webhook: list[dict[str, Any]]
) -> None:
    """v1 runs the day; after deploying a release whose run fails, the guard re-runs with v1."""
    releases = fleet.fleet.releases
    assert fleet("deploy", releases["v1"], "--env", "dev", "--as", "eng-1").code == 0
    first = fleet("risk-run", "--env", "dev", "--date", DAY, "--as", "eng-1", "--json")
    assert first.code == 0, first.stderr
    assert first.json()["outcome"] == "succeeded"

    assert fleet("deploy", releases["runfails"], "--env", "dev", "--as", "eng-1").code == 0
    second = fleet("risk-run", "--env", "dev", "--date", DAY, "--as", "eng-1", "--json")
    assert second.code == 0, second.stderr
    body = second.json()
    assert body["outcome"] == "fell_back"
    assert body["producer"] == releases["v1"]
    assert [a["release"] for a in body["attempts"]] == [releases["runfails"], releases["v1"]]
    assert [a["exit_code"] == 0 for a in body["attempts"]] == [False, True]
    assert _actions(fleet)[-5:] == [
        "risk-run",
        "risk-run",
        "risk-run-fell_back",
        "incident.opened",
        "notification.sent",
    ]
    (incident,) = fleet("incident", "list", "--json").json()["incidents"]
    assert incident["cause"] == "risk-run-fell_back"
    assert incident["release"] == releases["runfails"]
    assert incident["restored_at"] is not None  # the last good release produced the numbers
    alert = next(e for e in webhook if e["event"] == "risk_run_fallback")
    assert alert["alert"] is True
    assert releases["v1"] in alert["summary"]


def test_no_good_release_to_fall_back_to_fails(fleet: Env, webhook: list[dict[str, Any]]) -> None:
    """With no earlier good run, a failing run is a failure (exit 1) and alerts."""
    releases = fleet.fleet.releases
    assert fleet("deploy", releases["runfails"], "--env", "dev", "--as", "eng-1").code == 0
    out = fleet("risk-run", "--env", "dev", "--date", DAY, "--as", "eng-1")
    assert out.code == 1
    assert "failed" in out.stdout + out.stderr
    assert any(e["event"] == "risk_run_failed" for e in webhook)
    (incident,) = fleet("incident", "list", "--open", "--json").json()["incidents"]
    assert incident["cause"] == "risk-run-failed"
    assert incident["restored_at"] is None  # no numbers: open and not restored


def test_risk_run_usage_errors(fleet: Env) -> None:
    """Nothing deployed, a bad date, or an unknown environment: exit 2 with a reason."""
    out = fleet("risk-run", "--env", "prod", "--date", DAY)
    assert out.code == 2
    assert "nothing is deployed to prod" in out.stdout + out.stderr
    assert fleet("risk-run", "--env", "prod", "--date", "26/11/2026").code == 2
    assert fleet("risk-run", "--env", "nowhere", "--date", DAY).code == 2
