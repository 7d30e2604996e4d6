"""The deploy-target boundary: puts a release's service into an environment and reports on it.

:class:`DeployTarget` is what the core (``riskctl.service``) calls. The implementation on this
host is :class:`riskctl.rollout.controller.RolloutTarget`: the rollout controller (canary,
blue-green, recreate, abort, rollback) driving a :class:`riskctl.targets.fleet.Fleet` — by
default :class:`riskctl.targets.local.LocalTarget` (HAProxy front doors + release instances under
supervisord). Controller events go to the audit trail through the request's :data:`EventSink`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from riskctl.config import Environment
from riskctl.model import Release, Strategy

__all__ = [
    "ControlledTarget",
    "DeployTarget",
    "EventSink",
    "InstanceStatus",
    "Readiness",
    "TargetOutcome",
    "TargetRequest",
]

#: Records one controller event: (action, release digest or None, details).
EventSink = Callable[[str, str | None, Mapping[str, Any]], None]


def _ignore(_action: str, _digest: str | None, _details: Mapping[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class TargetRequest:
    """Deploy ``release`` (files in ``release_dir``) to ``env`` on ``port`` with ``strategy``."""

    env: str
    release: Release
    release_dir: Path
    strategy: Strategy
    port: int
    variables: Mapping[str, str] = field(default_factory=dict)
    previous: Release | None = None
    previous_dir: Path | None = None
    previous_variables: Mapping[str, str] = field(default_factory=dict)
    spec: Environment | None = None
    sink: EventSink = _ignore
    actor: str = ""
    canary_weights: tuple[int, ...] = ()
    golden_set: Path | None = None
    # Relative move the shadow comparison allows: the release's declared model change, only
    # when risk management approved it (else None).
    shadow_allowance: float | None = None
    rollback: bool = False  # this deploy restores an earlier release


@dataclass(frozen=True)
class TargetOutcome:
    """What happened; ``steps`` is the narrated sequence that goes into the audit trail.

    ``recorded``: the target already wrote deploy.succeeded/failed (and rollback) entries.
    """

    ok: bool
    message: str
    steps: tuple[str, ...] = ()
    rolled_back: bool = False
    version: Mapping[str, object] = field(default_factory=dict)
    paused: bool = False
    recorded: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InstanceStatus:
    """What runs in an environment according to the target."""

    env: str
    release: str | None
    state: str
    healthy: bool | None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Readiness:
    """Whether an instance became ready and passed its smoke tests, and why not."""

    ok: bool
    reason: str
    version: Mapping[str, Any]


class DeployTarget(Protocol):
    """Where releases run."""

    strategies: frozenset[Strategy]

    def deploy(self, request: TargetRequest) -> TargetOutcome: ...

    def status(self, env: str, port: int) -> InstanceStatus: ...


@runtime_checkable
class ControlledTarget(Protocol):
    """A target whose rollouts can be promoted, aborted and rolled back."""

    def promote(self, env: str, actor: str, sink: EventSink) -> TargetOutcome: ...

    def abort(self, env: str, reason: str, actor: str, sink: EventSink) -> TargetOutcome: ...
