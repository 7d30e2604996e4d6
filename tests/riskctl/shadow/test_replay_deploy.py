"""The shadow replay inside `riskctl deploy`: real requests sent through the stable release are
replayed to the new one (real HAProxy, supervisord and uvicorn, the fixture service)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.riskctl.progressive.conftest import Env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AUTH = {"Authorization": "Bearer real-caller"}


def _real_requests(fleet: Env, env: str, count: int) -> None:
    """``count`` different portfolio requests through the front door, as a real caller."""
    with httpx.Client(base_url=fleet.url(env), headers=AUTH, timeout=10) as client:
        for k in range(count):
            body = {
                "positions": {"A": 1.0e6 * (k + 1), "B": -2.5e5},
                "returns": {"A": [0.01, -0.02, 0.015, -0.03], "B": [0.02, 0.01, -0.01, 0.0]},
                "confidence": 0.75,
            }
            assert client.post("/v1/portfolio/var", json=body).status_code == 200


def _shadow(fleet: Env, env: str) -> Any:
    return fleet("status", "--env", env, "--json").json()["environments"][env]["shadow"]


def test_recent_real_requests_show_var_x15_in_the_shadow_report(replay_fleet: Env) -> None:
    """Requests served by v1 are replayed to the x1.5 release: the report lists recent-* moves."""
    fleet = replay_fleet
    assert fleet("deploy", fleet.fleet.releases["v1"], "--env", "staging", "--as", "qa-1").code == 0
    _real_requests(fleet, "staging", 4)
    out = fleet("deploy", fleet.fleet.releases["x15"], "--env", "staging", "--as", "qa-1")
    assert out.code == 1
    assert "shadow comparison BLOCKED" in out.stderr
    assert "(12 golden-set, 4 recent replayed)" in out.stderr
    assert "recent requests: 4 replayed, 4 beyond tolerance" in out.stderr
    assert "golden-1/historical portfolio_var" in out.stderr, "golden cases still reported"
    shadow = _shadow(fleet, "staging")
    assert shadow["passed"] is False
    report = shadow["report"]
    heading = report.index("  largest moves (recent requests):")
    assert report[heading + 1].startswith("    recent-")
    assert "(+50.00 %)" in report[heading + 1]


def test_an_older_stable_release_leaves_the_comparison_to_the_golden_set(
    replay_fleet: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stable release without the sample endpoint: v2 passes on the golden set, with a note."""
    monkeypatch.setenv("FIXTURE_NO_REQUEST_SAMPLES", "1")  # inherited by supervisord's programs
    fleet = replay_fleet
    assert fleet("deploy", fleet.fleet.releases["v1"], "--env", "staging", "--as", "qa-1").code == 0
    _real_requests(fleet, "staging", 2)
    probe = httpx.get(fleet.url("staging") + "/v1/admin/request-samples", headers=AUTH, timeout=5)
    assert probe.status_code == 404
    out = fleet("deploy", fleet.fleet.releases["v2"], "--env", "staging", "--as", "qa-1", "--json")
    assert out.code == 0, out.stderr
    summary = out.json()["shadow"]["summary"]
    assert summary.startswith("shadow comparison passed: 12 requests,")
    assert "no recent requests to replay (the stable release has no " in summary
    assert not any("recent-" in line for line in out.json()["shadow"]["report"])
