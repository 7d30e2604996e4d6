"""The dashboard's JSON endpoints, served by uvicorn on 127.0.0.1, over a real audit trail."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from riskctl.dashboard.app import SECURITY_HEADERS, _finite, create_app
from riskctl.service import Session
from tests.riskctl.dashboard.conftest import HOSTILE, Scenario, dashboard_for, serving

pytestmark = pytest.mark.integration  # a real uvicorn server on 127.0.0.1

CSP = "default-src 'self'; script-src 'self'; style-src 'self'"


def get(url: str, path: str, **headers: str) -> httpx.Response:
    return httpx.get(url + path, headers=headers, timeout=10.0)


def tamper(home: Path, seq: int, old: str, new: str) -> None:
    """Edit one stored entry behind riskctl's back (the append-only trigger dropped first)."""
    with sqlite3.connect(home / "audit.sqlite") as db:
        db.execute("DROP TRIGGER IF EXISTS riskctl_audit_entry_no_update")
        changed = db.execute(
            "UPDATE riskctl_audit_entry SET body = replace(body, ?, ?) WHERE seq = ?",
            (old, new, seq),
        ).rowcount
    assert changed == 1


def test_status_shows_what_runs_where(served: str, scenario: Scenario) -> None:
    """Each environment's release, phase, weights and last deploy come from the trail."""
    body = get(served, "/api/status").json()
    envs = body["environments"]
    assert list(envs) == ["dev", "staging", "prod"]
    prod = envs["prod"]
    assert prod["stable_release"] == scenario.release
    assert prod["stable_digest"] == scenario.digest
    assert prod["phase"] == "Healthy"
    assert (prod["canary_release"], prod["canary_weight"]) == (None, 0)
    assert prod["last_deploy"]["actor"] == "sre-1"
    assert prod["last_deploy"]["at"].startswith("2026-03-04")
    assert body["generated_at"].startswith("2026-03-05T15:00")


def test_history_lists_the_release_and_events_newest_first(served: str, scenario: Scenario) -> None:
    """History has the release with every environment it reached; events come newest first and
    ``limit`` bounds them."""
    body = get(served, "/api/history?limit=5").json()
    (release,) = body["releases"]
    assert release["release"] == scenario.release
    assert release["environments"] == ["dev", "prod", "staging"]
    assert len(body["events"]) == 5
    seqs = [e["seq"] for e in body["events"]]
    assert seqs == sorted(seqs, reverse=True)
    assert [e["action"] for e in body["events"][:2]] == ["incident.resolved", "incident.opened"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/history?limit=0",
        "/api/history?limit=1001",
        "/api/history?limit=many",
        "/api/incidents?limit=-1",
        "/api/audit/entries?limit=100000",
        "/api/risk-runs?limit=0",
        "/api/dora?env=prod&days=0",
        "/api/dora?env=prod&days=3661",
        "/api/dora?env=" + "x" * 65,
    ],
)
def test_out_of_bounds_parameters_are_json_422(served: str, path: str) -> None:
    """Limits and windows are bounded: outside them the answer is 422 with a JSON error naming the
    parameter (never a traceback), and the security headers are still sent."""
    response = get(served, path)
    assert response.status_code == 422
    body = response.json()
    name = path.split("?")[1].split("=")[-2].rsplit("&", maxsplit=1)[-1]
    assert name in body["error"]
    assert "Traceback" not in response.text
    assert response.headers["content-security-policy"] == CSP


def test_dora_figures_and_chart_series(served: str, scenario: Scenario) -> None:
    """Two prod deploys on two days, one of which served a failed risk run: frequency 2,
    change failure rate 1/2, lead times for both, one restored and one open incident; the
    definitions come along."""
    body = get(served, "/api/dora?env=prod&days=30").json()
    assert body["env"] == "prod"
    assert body["deployment_frequency"]["deploys"] == 2
    cfr = body["change_failure_rate"]
    assert (cfr["deploys"], cfr["failed"], cfr["rate"]) == (2, 1, 0.5)
    assert "failed risk run 2026-03-03" in cfr["failures"][0]["reason"]
    assert body["lead_time"]["changes"] == 2
    assert body["time_to_restore"]["restored"] == 1
    assert body["time_to_restore"]["still_open"] == 1
    per_day = body["series"]["deploys_per_day"]
    assert [(d["date"], d["succeeded"], d["failed"]) for d in per_day] == [
        ("2026-03-02", 1, 1),
        ("2026-03-04", 1, 0),
    ]
    leads = body["series"]["lead_times"]
    assert [lead["release"] for lead in leads] == [scenario.release] * 2
    assert leads[1]["lead_time_s"] - leads[0]["lead_time_s"] == pytest.approx(2 * 86400)
    assert body["build_time"][0]["release"] == scenario.release
    assert set(body["definitions"]) >= {"deployment_frequency", "change_failure_rate"}


def test_dora_window_and_unknown_environment(served: str) -> None:
    """A one-day window keeps only day 3's prod deploy; staging saw none in it (n/a, not 0); an
    unknown environment is a 404 JSON error."""
    narrow = get(served, "/api/dora?env=prod&days=1").json()
    assert narrow["deployment_frequency"]["deploys"] == 1
    assert narrow["change_failure_rate"]["rate"] == 0.0
    assert [d["date"] for d in narrow["series"]["deploys_per_day"]] == ["2026-03-04"]
    quiet = get(served, "/api/dora?env=staging&days=1").json()
    assert quiet["deployment_frequency"]["deploys"] == 0
    assert quiet["change_failure_rate"]["rate"] is None
    assert quiet["lead_time"]["median_s"] is None
    assert quiet["series"] == {"deploys_per_day": [], "lead_times": []}
    missing = get(served, "/api/dora?env=nowhere")
    assert missing.status_code == 404
    assert "unknown environment 'nowhere'" in missing.json()["error"]


def test_incidents_keep_markup_as_data(served: str, scenario: Scenario) -> None:
    """The automatic incident (failed risk run) was restored by the next good run and resolved;
    the manual one is open and its summary comes back exactly as typed."""
    body = get(served, "/api/incidents").json()
    assert (body["total"], body["open"]) == (2, 1)
    newest, oldest = body["incidents"]
    assert newest["id"] == scenario.hostile_incident
    assert newest["summary"] == HOSTILE
    assert newest["status"] == "open"
    assert oldest["id"] == scenario.automatic_incident
    assert oldest["cause"] == "risk-run-failed"
    assert oldest["restored_at"].startswith("2026-03-04")
    assert (oldest["status"], oldest["resolved_by"]) == ("resolved", "sre-1")
    limited = get(served, "/api/incidents?limit=1").json()
    assert [i["id"] for i in limited["incidents"]] == [scenario.hostile_incident]


def test_latest_risk_runs_newest_first(served: str, scenario: Scenario) -> None:
    """Risk runs list attempts and the guard's outcome, newest first, with dates and releases."""
    body = get(served, "/api/risk-runs").json()
    assert body["total"] == 3
    assert [(r["date"], r["outcome"]) for r in body["runs"]] == [
        ("2026-03-04", "succeeded"),
        ("2026-03-03", "failed"),
        ("2026-03-03", "failed attempt"),
    ]
    assert body["runs"][2]["output"] == "ValueError: NaN in portfolio P7"
    assert {r["release"] for r in body["runs"]} == {scenario.release}
    assert len(get(served, "/api/risk-runs?limit=1").json()["runs"]) == 1


def test_audit_verification_then_tampering(served: str, scenario: Scenario) -> None:
    """The trail verifies; after entry #3 is edited the verification names it, the tail still
    shows it, and endpoints that cannot read the trail answer with a JSON error."""
    ok = get(served, "/api/audit/verify").json()
    assert ok["ok"] is True
    assert ok["first_bad_entry"] is None
    assert ok["entries"] >= 20
    assert ok["checkpoints"] >= 1
    assert "error" not in ok
    tamper(scenario.home, 3, "passed", "PASSED")
    bad = get(served, "/api/audit/verify")
    assert bad.status_code == 200
    body = bad.json()
    assert body["ok"] is False
    assert body["first_bad_entry"] == 3
    assert body["error"] == "audit trail TAMPERED: first bad entry #3"
    assert any(p["entry"] == 3 for p in body["problems"])
    tail = get(served, f"/api/audit/entries?limit={ok['entries']}").json()
    assert tail["entries"][-1]["seq"] == 1
    assert "PASSED" in next(e["summary"] for e in tail["entries"] if e["seq"] == 3)
    status = get(served, "/api/status")
    assert status.status_code == 500
    assert "riskctl audit verify" in status.json()["error"]
    assert "Traceback" not in status.text


def test_audit_tail_is_bounded_newest_first(served: str) -> None:
    """The tail returns ``limit`` entries, newest first, with the total."""
    body = get(served, "/api/audit/entries?limit=3").json()
    assert len(body["entries"]) == 3
    assert body["entries"][0]["seq"] == body["total"]
    assert body["entries"][0]["action"] == "incident.resolved"


def test_every_response_has_the_security_headers(served: str) -> None:
    """The page, its assets, the API and errors all carry the CSP, nosniff and no-referrer."""
    for path in ("/", "/static/dashboard.js", "/static/dashboard.css", "/api/status",
                 "/api/nothing", "/static/../app.py", "/api/config"):  # fmt: skip
        response = get(served, path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
    assert get(served, "/api/nothing").json() == {"error": "Not Found"}
    assert get(served, "/static/app.py").status_code == 404
    assert get(served, "/").headers["content-type"].startswith("text/html")
    assert get(served, "/static/dashboard.js").headers["content-type"].startswith("text/javascript")


def test_foreign_host_header_is_refused(served: str) -> None:
    """A request naming another host (DNS rebinding) is refused with a JSON 400; localhost works."""
    refused = get(served, "/api/status", Host="attacker.example:8400")
    assert refused.status_code == 400
    assert "attacker.example" in refused.json()["error"]
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert get(served, "/api/config", Host="localhost:8400").status_code == 200


def test_writes_are_not_allowed(served: str) -> None:
    """Nothing accepts a POST: 405 as JSON."""
    response = httpx.post(served + "/api/status", timeout=10.0)
    assert response.status_code == 405
    assert "error" in response.json()


def test_reading_records_nothing(served: str, scenario: Scenario) -> None:
    """Every endpoint only reads: no audit entry, no checkpoint, no witness line is written."""

    def snapshot() -> tuple[int, int, bytes]:
        with sqlite3.connect(scenario.home / "audit.sqlite") as db:
            entries = db.execute("SELECT count(*) FROM riskctl_audit_entry").fetchone()[0]
            checkpoints = db.execute("SELECT count(*) FROM riskctl_audit_checkpoint").fetchone()[0]
        return entries, checkpoints, (scenario.home / "checkpoints.jsonl").read_bytes()

    before = snapshot()
    for path in ("/api/config", "/api/status", "/api/history", "/api/dora", "/api/incidents",
                 "/api/audit/verify", "/api/audit/entries", "/api/risk-runs"):  # fmt: skip
        assert get(served, path).status_code == 200, path
    assert snapshot() == before


def test_config_names_the_environments(served: str) -> None:
    """The page learns the environments (policy order) and its refresh interval."""
    body = get(served, "/api/config").json()
    assert body["environments"] == ["dev", "staging", "prod"]
    assert body["refresh_seconds"] == 5
    assert body["policy_digest"].startswith("sha256:")


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (OSError(13, "Permission denied"), "cannot read riskctl's state"),
        (RuntimeError("boom in /srv/secret/path"), "internal error (RuntimeError)"),
    ],
)
def test_unexpected_failures_are_json_without_details(
    failure: Exception, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A session that cannot be opened is a 500 with a JSON error; a bug's message and traceback
    go to the log only, never to the client."""

    def opener() -> Session:
        raise failure

    with serving(dashboard_for(create_app(opener))) as url:
        response = get(url, "/api/status")
    assert response.status_code == 500
    assert expected in response.json()["error"]
    assert "Traceback" not in response.text
    assert "/srv/secret" not in response.text
    assert response.headers["content-security-policy"] == CSP


def test_non_finite_numbers_become_null() -> None:
    """JSON has no NaN or infinity (the page's JSON.parse would reject the whole answer)."""
    assert _finite({"a": [1.0, float("nan")], "b": (float("inf"), "x")}) == {
        "a": [1.0, None],
        "b": [None, "x"],
    }
