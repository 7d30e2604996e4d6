"""Crash anywhere: a controller killed at any action boundary of a canary or a blue-green
rollout, then `riskctl status` and the same deploy again, ends exactly where an uninterrupted
run ends — and no request is ever routed to a stopped instance on the way.

A boundary is each persisted save (the crash comes right after it), each call that changes the
fleet (right before it) and each audit write (right after it). The FakeFleet raises
:class:`~riskctl.targets.fake.RoutingViolationError` on any routing change that would send a
request to an instance that is not running, so every run below also checks that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from riskctl.rollout.envstate import EnvPhase, EnvState, EnvStore
from riskctl.targets.fake import SimulatedCrash
from tests.riskctl.rollout.fakes import Rig, rig, snapshot


def _armed(base: Path, env: str, monkeypatch: pytest.MonkeyPatch, crash_at: int) -> Rig:
    """v1 serves ``env``; the ``crash_at``-th boundary from now on will "kill" the controller."""
    r = rig(base)
    assert r.deploy(env, "v1").ok
    save = EnvStore.save

    def save_then_tick(store: EnvStore, state: EnvState) -> None:
        save(store, state)
        r.fleet.boundary("saved")

    monkeypatch.setattr(EnvStore, "save", save_then_tick)
    r.audit.tick = r.fleet.boundary
    r.fleet.crash_at = len(r.fleet.calls) + crash_at
    return r


@pytest.mark.parametrize("env", ["prod", "staging"])  # canary 10/50/100; blue-green
def test_killed_at_every_boundary_status_then_rerun_converges(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For every boundary n: crash there, status, deploy again → the uninterrupted final state."""
    clean = rig(tmp_path / "clean")
    assert clean.deploy(env, "v1").ok
    assert clean.deploy(env, "v2").ok
    want = snapshot(clean, env)
    assert want["phase"] is EnvPhase.HEALTHY
    crashed: list[str] = []
    n = 1
    while True:
        with monkeypatch.context() as mp:
            r = _armed(tmp_path / f"crash-{n}", env, mp, n)
            try:
                out = r.deploy(env, "v2")
            except SimulatedCrash as kill:
                crashed.append(str(kill))
            else:
                assert out.ok, out.message
                assert snapshot(r, env) == want
                break  # n is past the last boundary: the run was not interrupted
            details: dict[str, Any] = r.status(env)
            if r.state(env).active:
                assert "interrupted" in details["controller"], (n, details["controller"])
            again = r.deploy(env, "v2")
            assert again.ok, (n, crashed[-1], again.message)
            assert snapshot(r, env) == want, (n, crashed[-1])
        n += 1
    # Every kind of boundary was hit: saves, fleet changes and audit writes.
    kinds = {c.split()[0] for c in crashed}
    assert {"saved", "route", "start", "migrate", "audit"} <= kinds, kinds
    assert len(crashed) >= 20
