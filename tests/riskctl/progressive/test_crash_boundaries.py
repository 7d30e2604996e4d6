"""A riskctl process SIGKILLed at an exact action boundary of a real rollout (HAProxy,
supervisord, uvicorn): `riskctl status` then the same deploy end where an uninterrupted deploy
ends. The kill comes from inside the process right after the chosen decision is persisted —
before any of its actions — which no polling from outside could hit reliably."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import httpx
import pytest

from tests.riskctl.progressive.conftest import Env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Runs riskctl with EnvStore.save wrapped: once a saved state matches PREDICATE, SIGKILL.
KILLER = textwrap.dedent(
    """\
    import os, runpy, signal, sys
    from riskctl.rollout.envstate import EnvStore
    _save = EnvStore.save
    def save(self, state):
        _save(self, state)
        if PREDICATE:
            os.kill(os.getpid(), signal.SIGKILL)
    EnvStore.save = save
    sys.argv = ["riskctl", *sys.argv[1:]]
    runpy.run_module("riskctl", run_name="__main__")
    """
)


def _killed_deploy(fleet: Env, predicate: str, *args: str) -> int:
    """Run ``riskctl ARGS`` until it kills itself at ``predicate``; its return code."""
    env = {**os.environ, **fleet.cli.env}
    code = KILLER.replace("PREDICATE", predicate)
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=fleet.cli.repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    return proc.returncode


def _weights(fleet: Env, env: str) -> dict[str, int]:
    return {s.server: s.weight for s in fleet.target().fleet.stats(env)}


def test_recreate_killed_right_after_the_rollout_was_persisted(fleet: Env) -> None:
    """dev: killed once the new rollout is persisted (Preparing) and before anything started;
    status keeps v1 serving everything, the re-run completes: v2 alone at 100 %. (No analysis
    here, so a busy machine cannot turn this into an inconclusive pause.)"""
    v1, v2 = fleet.fleet.releases["v1"], fleet.fleet.releases["v2"]
    assert fleet("deploy", v1, "--env", "dev", "--as", "eng-1").code == 0
    predicate = "str(state.phase) == 'Preparing'"
    code = _killed_deploy(fleet, predicate, "deploy", v2, "--env", "dev", "--as", "eng-1")
    assert code == -9
    status = fleet("status", "--env", "dev", "--json")
    assert status.code == 0, status.stderr
    dev = status.json()["environments"]["dev"]
    assert "interrupted" in dev["controller"]
    assert dev["canary_release"] == v2
    assert _weights(fleet, "dev") == {"blue": 100, "green": 0}
    assert list(fleet.target().fleet.programs("dev").values()) == [("blue", v1)]
    done = fleet("deploy", v2, "--env", "dev", "--as", "eng-1", "--json")
    assert done.code == 0, done.stderr
    assert any(s.startswith("resuming the rollout") for s in done.json()["steps"])
    assert list(fleet.target().fleet.programs("dev").values()) == [("green", v2)]
    assert _weights(fleet, "dev") == {"blue": 0, "green": 100}
    version = httpx.get(fleet.url("dev") + "/version", timeout=5).json()
    assert version["artifact_digest"] == fleet.fleet.digests["v2"]
    assert fleet("audit", "verify").code == 0


def test_bluegreen_killed_after_finalizing_was_persisted(fleet: Env) -> None:
    """staging: killed once Finalizing (new stable, old colour warm) is persisted but before its
    actions ran; status finishes it; the re-run finds v2 serving, v1 warm."""
    v1, v2 = fleet.fleet.releases["v1"], fleet.fleet.releases["v2"]
    assert fleet("deploy", v1, "--env", "staging", "--as", "qa-1").code == 0
    predicate = "str(state.phase) == 'Finalizing'"
    args: tuple[str, ...] = ("deploy", v2, "--env", "staging", "--as", "qa-1")
    for _ in range(3):
        code = _killed_deploy(fleet, predicate, *args)
        if code != 0 or fleet.state("staging")["phase"] != "Paused":
            break
        # A busy machine can leave the pre-promotion analysis inconclusive (too few samples):
        # promote it as an operator would; the kill then comes in the promote.
        args = ("promote", "staging", "--as", "qa-1")
    assert code == -9
    assert fleet.state("staging")["phase"] == "Finalizing"
    status = fleet("status", "--env", "staging", "--json")
    assert status.code == 0, status.stderr
    staging = status.json()["environments"]["staging"]
    assert (staging["phase"], staging["stable_release"]) == ("Healthy", v2)
    again = fleet("deploy", v2, "--env", "staging", "--as", "qa-1", "--json")
    assert again.code == 0, again.stderr
    assert set(fleet.target().fleet.programs("staging").values()) == {("blue", v1), ("green", v2)}
    assert _weights(fleet, "staging") == {"blue": 0, "green": 100}
    version = httpx.get(fleet.url("staging") + "/version", timeout=5).json()
    assert version["artifact_digest"] == fleet.fleet.digests["v2"]
    assert fleet.state("staging")["warm_slot"] == "blue"
