"""The dashboard's deploy target reports what it finds and never converges, locks or records."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from riskctl.config import load_config
from riskctl.dashboard.readonly import ReadOnlyRolloutTarget, lock_held
from riskctl.errors import UsageError
from riskctl.rollout.envstate import EnvState, EnvStore, SlotOccupant
from riskctl.rollout.state import Phase, RolloutState, Step, StepKind
from tests.riskctl.dashboard.conftest import Scenario


@contextmanager
def flocked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path``, as a running controller does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def test_lock_held_reads_proc_locks(tmp_path: Path) -> None:
    """Held while someone holds it, free after, False for a missing file, None when the lock
    table cannot be read."""
    lock = tmp_path / "controller.lock"
    assert lock_held(lock) is False
    with flocked(lock):
        assert lock_held(lock) is True
        assert lock_held(lock, locks_table=tmp_path / "no-such-table") is None
    assert lock_held(lock) is False


def canary_state(scn: Scenario) -> EnvState:
    """prod with the release stable in blue and a canary at 10 % in green, mid-rollout."""
    steps = (Step(StepKind.SET_WEIGHT, 10.0), Step(StepKind.ANALYZE, 10.0))
    rollout = RolloutState("prod", "canary", scn.release, "blue", "rel-next", "green", steps, 1,
                           Phase.PROGRESSING, 10, True, "analysing")  # fmt: skip
    return EnvState(
        "prod",
        slots={
            "blue": SlotOccupant(scn.release, scn.digest, 1),
            "green": SlotOccupant("rel-next", "sha256:" + "1" * 64, 2),
        },
        stable_slot="blue",
        rollout=rollout,
        finished=False,
        verdict={"phase": "Running", "summary": "analysing"},
    )


def test_status_reports_the_persisted_rollout_without_taking_the_lock(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a controller holds the lock, status shows the rollout as running (no busy error),
    and the state file is left exactly as it was: nothing converged."""
    config = load_config(scenario.repo / "delivery.toml").config
    store = EnvStore(scenario.home / "envs", "prod")
    store.save(canary_state(scenario))
    before = store.state_path.read_bytes()

    def no_locking(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the dashboard took the controller lock")

    monkeypatch.setattr(EnvStore, "locked", no_locking)
    target = ReadOnlyRolloutTarget(scenario.home, config)
    with flocked(store.lock_path):
        status = target.status("prod", 0)
    details = status.details
    assert status.release == scenario.release
    assert (details["canary_release"], details["canary_weight"]) == ("rel-next", 10)
    assert details["phase"] == "Progressing"
    assert details["controller"] == "running"
    assert details["rollout"]["steps"] == ["set canary weight 10 %", "analyse for 10 s"]
    assert details["slots"]["green"]["running"] is False  # nothing runs in this test
    idle = target.status("prod", 0).details
    assert idle["controller"].startswith("interrupted")
    assert store.state_path.read_bytes() == before


def test_commands_that_change_things_are_refused(scenario: Scenario) -> None:
    """deploy, promote and abort refuse: the dashboard's sessions cannot change an environment."""
    config = load_config(scenario.repo / "delivery.toml").config
    target = ReadOnlyRolloutTarget(scenario.home, config)
    with pytest.raises(UsageError, match="read-only"):
        target.promote("prod", "sre-1", lambda *_: None)
    with pytest.raises(UsageError, match="read-only"):
        target.abort("prod", "why", "sre-1", lambda *_: None)
    with pytest.raises(UsageError, match="read-only"):
        target.deploy(None)  # type: ignore[arg-type]
