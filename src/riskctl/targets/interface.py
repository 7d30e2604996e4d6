"""The deploy-target boundary: puts a release's service into an environment and reports on it.

Implementations: :mod:`riskctl.targets.local` (this host: release virtualenvs under supervisord).
The progressive-delivery work (HAProxy front door, blue-green, canary) adds strategies behind the
same interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from riskctl.model import Release, Strategy

__all__ = ["DeployTarget", "InstanceStatus", "TargetOutcome", "TargetRequest"]


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


@dataclass(frozen=True)
class TargetOutcome:
    """What happened; ``steps`` is the narrated sequence that goes into the audit trail."""

    ok: bool
    message: str
    steps: tuple[str, ...] = ()
    rolled_back: bool = False
    version: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class InstanceStatus:
    """What runs in an environment according to the target."""

    env: str
    release: str | None
    state: str
    healthy: bool | None


class DeployTarget(Protocol):
    """Where releases run."""

    strategies: frozenset[Strategy]

    def deploy(self, request: TargetRequest) -> TargetOutcome: ...

    def status(self, env: str, port: int) -> InstanceStatus: ...
