"""`riskctl abort` (riskctl.usecases.rollouts.abort): authorised and recorded before it acts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from riskctl.config import LoadedConfig
from riskctl.errors import PolicyRefusedError
from riskctl.targets.interface import EventSink, TargetOutcome
from riskctl.usecases import rollouts
from tests.riskctl.conftest import Built, session_for


class AbortSpy:
    """A controlled target that remembers what the trail held when abort reached it."""

    strategies = frozenset[Any]()

    def __init__(self, trail: list[list[str]]) -> None:
        self.trail = trail
        self.aborted: list[tuple[str, str, str]] = []

    def abort(self, env: str, reason: str, actor: str, sink: EventSink) -> TargetOutcome:
        self.aborted.append((env, reason, actor))
        return TargetOutcome(False, "aborted: drill", ("canary weight 0",))

    def promote(self, env: str, actor: str, sink: EventSink) -> TargetOutcome:
        raise AssertionError("not called")

    def deploy(self, request: object) -> TargetOutcome:
        raise AssertionError("not called")

    def status(self, env: str, port: int) -> object:
        raise AssertionError("not called")


def _session(
    built: Built, monkeypatch: pytest.MonkeyPatch, actor: str
) -> tuple[Any, list[AbortSpy]]:
    session = session_for(built.repo, built.home, monkeypatch, actor)
    built_targets: list[AbortSpy] = []

    def factory(_home: Path, _loaded: LoadedConfig) -> AbortSpy:
        actions = [b["action"] for b in session.audit.bodies()]
        target = AbortSpy([actions])
        built_targets.append(target)
        return target

    session.target_factory = factory
    return session, built_targets


def test_abort_is_recorded_before_the_target_acts(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployer's abort: `rollout.abort_requested` is in the trail before the target is
    built and told to abort (persist, then act)."""
    session, targets = _session(built, monkeypatch, "sre-1")
    try:
        out = rollouts.abort(session, "prod", "drill")
    finally:
        session.close()
    assert out.aborted is True
    assert len(targets) == 1
    assert targets[0].trail[0][-1] == "rollout.abort_requested"
    assert targets[0].aborted == [("prod", "drill", "sre-1")]


@pytest.mark.parametrize("actor", ["eng-1", "qa-1"])
def test_abort_by_someone_who_may_not_operate_never_reaches_the_target(
    built: Built, monkeypatch: pytest.MonkeyPatch, actor: str
) -> None:
    """An identity outside prod's deployers is refused (and the refusal recorded) before any
    target is built: the fast abort path gives no way around authorisation."""
    session, targets = _session(built, monkeypatch, actor)
    try:
        with pytest.raises(PolicyRefusedError):
            rollouts.abort(session, "prod", "let me")
        actions = [b["action"] for b in session.audit.bodies()]
    finally:
        session.close()
    assert targets == []
    assert "rollout.abort_requested" not in actions
    assert actions[-1] == "abort.refused"
