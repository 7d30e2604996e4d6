"""Killing riskctl mid-rollout: known weights, no orphans; re-running the deploy resumes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from riskctl.rollout.envstate import EnvState
from tests.riskctl.progressive.conftest import Env, kill, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Point = tuple[str, Callable[[dict[str, Any]], bool]]

POINTS: list[Point] = [
    ("preparing the canary", lambda s: bool(s["rollout"]) and not s["prepared"]
     and not s["finished"]),
    ("analysing at 10 %", lambda s: s["prepared"] and s["rollout"]["canary_weight"] == 10),
    ("analysing at 50 %", lambda s: s["prepared"] and s["rollout"]["canary_weight"] == 50),
]  # fmt: skip


def _desired(raw: dict[str, Any]) -> dict[str, int]:
    state = EnvState.from_dict(raw)
    weights = state.weights()
    ro = state.rollout
    if state.active and ro is not None and not state.prepared:
        weights[ro.canary_slot] = 0
        if state.stable_slot:
            weights[state.stable_slot] = 100
    return weights


def test_killing_riskctl_at_several_points_then_rerunning_converges(fleet: Env) -> None:
    """After each SIGKILL, status re-applies the persisted weights and leaves no orphans;
    re-running the same deploy resumes and completes."""
    assert fleet("deploy", fleet.fleet.releases["v1"], "--env", "prod", "--as", "sre-1").code == 0
    release = fleet.fleet.releases["v2"]
    for name, reached in POINTS:
        proc = fleet.spawn("deploy", release, "--env", "prod", "--as", "sre-1")
        try:
            wait_for(lambda reached=reached: reached(fleet.state("prod")), what=name)
        finally:
            kill(proc)
        # Converging acts on prod, so it takes a proven prod deployer (finding 10).
        out = fleet("status", "--env", "prod", "--json", "--as", "sre-1")
        assert out.code == 0, out.stderr
        status = out.json()["environments"]["prod"]
        raw = fleet.state("prod")
        assert "interrupted" in status["controller"], (name, status["controller"])
        assert status["canary_release"] == release
        target = fleet.target().fleet
        live = {s.server: s.weight for s in target.stats("prod") if s.server in raw["slots"]}
        assert live == _desired(raw), name
        wanted = {(slot, occ["release"]) for slot, occ in raw["slots"].items()}
        assert set(target.programs("prod").values()) <= wanted, name
    done = fleet("deploy", release, "--env", "prod", "--as", "sre-1", "--json")
    assert done.code == 0, done.stderr
    assert any(s.startswith("resuming the rollout") for s in done.json()["steps"])
    version = httpx.get(fleet.url("prod") + "/version", timeout=5).json()
    assert version["artifact_digest"] == fleet.fleet.digests["v2"]
    assert list(fleet.target().fleet.programs("prod").values()) == [("green", release)]
    status = fleet("status", "--env", "prod", "--json").json()["environments"]["prod"]
    assert (status["phase"], status["canary_release"]) == ("Healthy", None)
    assert fleet("audit", "verify").code == 0


def test_abort_after_a_killed_controller_reverts(fleet: Env) -> None:
    """A rollout whose controller died is reverted by `riskctl abort`: stable only, canary gone."""
    assert fleet("deploy", fleet.fleet.releases["v1"], "--env", "prod", "--as", "sre-1").code == 0
    proc = fleet.spawn("deploy", fleet.fleet.releases["v2"], "--env", "prod", "--as", "sre-1")
    try:
        wait_for(lambda: fleet.state("prod")["rollout"]["canary_weight"] == 10, what="10 %")
    finally:
        kill(proc)
    out = fleet("abort", "prod", "--as", "sre-1", "--json")
    assert out.code == 0, out.stderr
    assert list(fleet.target().fleet.programs("prod").values()) == [
        ("blue", fleet.fleet.releases["v1"])
    ]
    weights = {s.server: s.weight for s in fleet.target().fleet.stats("prod")}
    assert weights == {"blue": 100, "green": 0}
