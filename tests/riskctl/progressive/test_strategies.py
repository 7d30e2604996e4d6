"""Blue-green, canary, shadow comparison, analysis and rollback — real HAProxy, supervisord
and uvicorn, with a steady load through the front door where the issue asks for one."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from riskctl.analysis.load import BackgroundLoad, LoadResult
from tests.riskctl.progressive.conftest import Env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BODY = {"positions": {"A": 1.0e6}, "returns": {"A": [0.01, -0.02, 0.015, -0.03]}}
AUTH = {"Authorization": "Bearer steady-load"}


def _digest(fleet: Env, env: str) -> str:
    return str(httpx.get(fleet.url(env) + "/version", timeout=5).json()["artifact_digest"])


def _steady(fleet: Env, env: str) -> BackgroundLoad:
    """100 requests/s through the front door until stopped."""
    return BackgroundLoad(fleet.url(env) + "/v1/portfolio/var", [BODY], rate=100, headers=AUTH)


def _why(out: Any) -> str:
    """A failed command's stderr and, from its JSON, the analysis verdict's figures."""
    try:
        analysis = json.loads(out.stdout).get("analysis") or {}
    except ValueError:
        analysis = {}
    return f"{out.stderr}\nanalysis: {json.dumps(analysis.get('metrics', analysis))}"


def _failed(result: LoadResult) -> list[Any]:
    return [s for s in result.samples if s.failed]


def _deploy(fleet: Env, name: str, env: str, actor: str, *extra: str) -> Any:
    return fleet("deploy", fleet.fleet.releases[name], "--env", env, "--as", actor, "--json",
                 *extra)  # fmt: skip


def test_bluegreen_switch_and_rollback_under_load_lose_nothing(fleet: Env) -> None:
    """Staging switches v1 → v2 and rolls back by one weight change at 100 req/s, 0 failures."""
    assert _deploy(fleet, "v1", "staging", "qa-1").code == 0
    with _steady(fleet, "staging") as load:
        out = _deploy(fleet, "v2", "staging", "qa-1")
        assert out.code == 0, _why(out)
        body = out.json()
        assert body["shadow"], body["steps"]
        assert body["shadow"]["passed"] is True
        assert body["analysis"]["phase"] == "Successful"
        assert body["analysis"]["mode"].startswith("pre-promotion")
        assert _digest(fleet, "staging") == fleet.fleet.digests["v2"]
        status = fleet("status", "--env", "staging", "--json").json()["environments"]["staging"]
        assert status["stable_release"] == fleet.fleet.releases["v2"]
        assert status["warm"]["release"] == fleet.fleet.releases["v1"]
        back = fleet("rollback", "--env", "staging", "--as", "qa-1", "--json")
        assert back.code == 0, back.stderr
        assert any("switched back" in s for s in back.json()["steps"])
        assert _digest(fleet, "staging") == fleet.fleet.digests["v1"]
    result = load.stop()
    assert result.sent >= 200
    assert _failed(result) == []
    status = fleet("status", "--env", "staging", "--json").json()["environments"]["staging"]
    assert status["stable_release"] == fleet.fleet.releases["v1"]
    assert status["url"] == fleet.url("staging")


def test_canary_pause_promote_and_abort_under_load_lose_nothing(fleet: Env) -> None:
    """A paused canary shows in status; abort takes it to 0 % and stops it with 0 failures."""
    paused = str(fleet.fleet.paused_policy)
    # Decisions in prod use only the pinned policy: the admin puts the pausing copy in force.
    assert fleet("policy", "pin", "--as", "admin", "--config", paused).code == 0
    assert _deploy(fleet, "v1", "prod", "sre-1", "--config", paused).code == 0
    with _steady(fleet, "prod") as load:
        out = _deploy(fleet, "v2", "prod", "sre-1", "--config", paused)
        assert out.code == 0, _why(out)
        assert out.json()["phase"] == "Paused"
        time.sleep(1.5)  # let the canary take its 10 % for a while
        st = fleet("status", "--env", "prod", "--json", "--config", paused).json()
        prod = st["environments"]["prod"]
        assert (prod["canary_release"], prod["canary_weight"], prod["phase"]) == (
            fleet.fleet.releases["v2"], 10, "Paused",
        )  # fmt: skip
        assert {"url", "stable_release", "canary_release", "canary_weight", "phase"} <= set(prod)
        aborted = fleet("abort", "prod", "--as", "sre-1", "--reason", "drill", "--config", paused)
        assert aborted.code == 0, aborted.stderr
        assert _digest(fleet, "prod") == fleet.fleet.digests["v1"]
    result = load.stop()
    assert _failed(result) == []
    served = {s.slot for s in result.samples}
    assert served == {"blue", "green"}  # the canary did take its 10 % before the abort
    prod = fleet("status", "--env", "prod", "--json").json()["environments"]["prod"]
    assert prod["canary_release"] is None
    assert prod["stable_release"] == fleet.fleet.releases["v1"]
    assert set(prod["slots"]) == {"blue"}

    again = _deploy(fleet, "v2", "prod", "sre-1", "--config", paused)
    assert again.json()["phase"] == "Paused"
    done = fleet("promote", "prod", "--as", "sre-1", "--json", "--config", paused)
    assert done.code == 0, _why(done)
    assert _digest(fleet, "prod") == fleet.fleet.digests["v2"], done.json()["steps"]
    history = fleet("history", "--json").json()["events"]
    verdicts = [e for e in history if e["action"] == "analysis.verdict"]
    assert len(verdicts) >= 2, done.json()["steps"]


def test_shadow_comparison_stops_a_release_that_moves_var(fleet: Env) -> None:
    """VaR × 1.5 is blocked in staging with a report naming moved portfolios; v1 keeps serving."""
    assert _deploy(fleet, "v1", "staging", "qa-1").code == 0
    out = fleet("deploy", fleet.fleet.releases["x15"], "--env", "staging", "--as", "qa-1")
    assert out.code == 1
    assert "shadow comparison BLOCKED" in out.stderr
    assert "golden-1/historical portfolio_var" in out.stderr
    assert "+50.00 %" in out.stderr
    assert _digest(fleet, "staging") == fleet.fleet.digests["v1"]
    status = fleet("status", "--env", "staging", "--json").json()["environments"]["staging"]
    assert status["shadow"]["passed"] is False
    assert set(status["slots"]) == {status_slot(status)}
    programs = fleet.target().fleet.programs("staging")
    assert all(rel == fleet.fleet.releases["v1"] for _slot, rel in programs.values())

    declared = fleet.fleet.releases["x15-declared"]
    blocked = fleet("deploy", declared, "--env", "staging", "--as", "qa-1")
    assert blocked.code == 1, "a declared but unapproved model change is still blocked"
    refused = fleet("approve", declared, "--env", "staging", "--as", "qa-1", "--model-change")
    assert refused.code == 3
    ok = fleet("approve", declared, "--env", "staging", "--as", "risk-1", "--model-change")
    assert ok.code == 0, ok.stderr
    passed = fleet("deploy", declared, "--env", "staging", "--as", "qa-1", "--json")
    assert passed.code == 0, passed.stderr
    assert "allows up to 60 %" in passed.json()["shadow"]["summary"]


def status_slot(status: dict[str, Any]) -> str:
    """The slot of the stable release in a status entry."""
    return next(k for k, v in status["slots"].items() if v["release"] == status["stable_release"])


@pytest.mark.parametrize(("variant", "reason"), [("errors", "error rate"), ("slow", "latency")])
def test_canary_analysis_aborts_and_rolls_back(fleet: Env, variant: str, reason: str) -> None:
    """5xx on a fraction, or 30 ms slower: analysis fails, canary to 0 and stopped, exit 1."""
    assert _deploy(fleet, "v1", "prod", "sre-1").code == 0
    out = _deploy(fleet, variant, "prod", "sre-1")
    assert out.code == 1, out.stdout
    body = out.json()
    assert reason in body["error"]
    assert body["analysis"]["phase"] == "Failed"
    assert body["analysis"]["metrics"]["canary_requests"] > 0
    assert _digest(fleet, "prod") == fleet.fleet.digests["v1"]
    prod = fleet("status", "--env", "prod", "--json").json()["environments"]["prod"]
    assert prod["analysis"]["phase"] == "Failed"
    assert reason in prod["analysis"]["summary"]
    # The sample the judge needed is recorded and shown (issue 13): at least min_samples.
    samples = prod["analysis"]["samples"]
    assert samples["needed"] >= 30
    assert f"samples: {samples['canary']} of {samples['needed']} needed" in (
        fleet("status", "--env", "prod").stdout
    )
    assert prod["canary_weight"] == 0
    assert list(fleet.target().fleet.programs("prod").values()) == [
        ("blue", fleet.fleet.releases["v1"])
    ]
    weights = {s.server: s.weight for s in fleet.target().fleet.stats("prod")}
    assert weights == {"blue": 100, "green": 0}
    actions = [json.loads(json.dumps(e))["action"] for e in fleet("history", "--json").json()[
        "events"]]  # fmt: skip
    assert actions[-3:] == ["deploy.failed", "rollback.performed", "incident.opened"]
    incidents = fleet("incident", "list", "--open", "--json").json()["incidents"]
    assert [(i["cause"], i["release"]) for i in incidents] == [
        ("rollback.performed", fleet.fleet.releases[variant])
    ]
    assert reason in incidents[0]["summary"]
    # From the canary's deploy start to the rollback (the fleet's clock is fixed: 0 s apart).
    assert incidents[0]["started_at"] is not None
    assert incidents[0]["restore_seconds"] == 0.0


def test_crash_on_start_never_takes_traffic(fleet: Env) -> None:
    """A release that exits on start is stopped before any weight moves to it."""
    assert _deploy(fleet, "v1", "prod", "sre-1").code == 0
    with _steady(fleet, "prod") as load:
        out = _deploy(fleet, "crash", "prod", "sre-1")
    result = load.stop()
    assert out.code == 1
    assert "crashed on start" in out.json()["error"]
    assert _failed(result) == []
    assert {s.slot for s in result.samples} == {"blue"}, [
        s for s in result.samples if s.slot != "blue"
    ]
    green = next(s for s in fleet.target().fleet.stats("prod") if s.server == "green")
    assert green.requests == 0
    # It never served anyone: a failed deploy, not an incident.
    assert fleet("incident", "list", "--json").json()["incidents"] == []


def test_rollback_past_an_irreversible_migration_is_refused(fleet: Env) -> None:
    """rollback --to a release before an irreversible migration exits 3 with the reason."""
    assert _deploy(fleet, "v1", "dev", "eng-1").code == 0
    assert _deploy(fleet, "irreversible", "dev", "eng-1").code == 0
    out = fleet("rollback", "--env", "dev", "--as", "eng-1")
    assert out.code == 3
    assert "irreversible migration (drops table t)" in out.stderr
    assert _digest(fleet, "dev") == fleet.fleet.digests["irreversible"]
    assert _deploy(fleet, "v2", "dev", "eng-1").code == 0
    back = fleet("rollback", "--env", "dev", "--as", "eng-1", "--to",
                 fleet.fleet.releases["irreversible"])  # fmt: skip
    assert back.code == 0, back.stderr
    assert _digest(fleet, "dev") == fleet.fleet.digests["irreversible"]
    assert fleet("rollback", "--env", "dev", "--as", "qa-1").code == 3  # role not allowed
    assert fleet("audit", "verify").code == 0
