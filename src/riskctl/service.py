"""A compatibility facade over :mod:`riskctl.usecases`: ``Session`` is the use cases' context
with one method per use case returning the plain dicts ``--json`` prints.

New code calls the use cases with a :class:`~riskctl.usecases.context.Context` (the CLI does);
this facade keeps the dashboard, the demo and tests that drive the core by dicts working.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from riskctl.audit.log import VerifyReport
from riskctl.audit.stores import open_store
from riskctl.clock import Calendar, Clock
from riskctl.config import LoadedConfig
from riskctl.model import Release
from riskctl.report import Evidence
from riskctl.targets.interface import DeployTarget
from riskctl.usecases import approvals, deploys, evidence, incidents, queries, release, rollouts
from riskctl.usecases.context import Context, open_context, resolve_actor

__all__ = ["Session", "open_session", "open_store", "resolve_actor", "service_variables"]


class Session(Context):
    """The use cases as methods returning dicts (see the module docstring)."""

    def build(self, *, allow_dirty: bool) -> dict[str, Any]:
        return release.build(self, allow_dirty=allow_dirty).as_dict()

    def gates(
        self,
        ref: str,
        *,
        only: Sequence[str] = (),
        skip: Sequence[str] = (),
        workers: int = 2,
        progress: bool = True,
    ) -> dict[str, Any]:
        out = release.gates(self, ref, only=only, skip=skip, workers=workers, progress=progress)
        return out.as_dict()

    def review(self, ref: str) -> dict[str, Any]:
        return approvals.review(self, ref).as_dict()

    def approve(self, ref: str, env: str, **options: Any) -> dict[str, Any]:
        return approvals.approve(self, ref, env, **options).as_dict()

    def deploy(self, ref: str, env_name: str, **options: Any) -> dict[str, Any]:
        return deploys.deploy(self, ref, env_name, **options).as_dict()

    def status(self, env_filter: str | None = None) -> dict[str, Any]:
        return queries.status(self, env_filter).as_dict()

    def promote(self, env_name: str) -> dict[str, Any]:
        return rollouts.promote(self, env_name).as_dict()

    def abort(self, env_name: str, reason: str) -> dict[str, Any]:
        return rollouts.abort(self, env_name, reason).as_dict()

    def rollback(self, env_name: str, to: str | None) -> dict[str, Any]:
        return rollouts.rollback(self, env_name, to).as_dict()

    def history(self, limit: int | None = None) -> dict[str, Any]:
        return queries.history(self, limit).as_dict()

    def verify(self) -> VerifyReport:
        return queries.verify(self)

    def incidents(self, *, include_resolved: bool = True) -> list[dict[str, Any]]:
        found = incidents.list_incidents(self, include_resolved=include_resolved)
        return [i.as_dict() for i in found]

    def open_incident(
        self, env_name: str, summary: str, impact: str, release_ref: str | None
    ) -> dict[str, Any]:
        return incidents.open_incident(self, env_name, summary, impact, release_ref).as_dict()

    def resolve_incident(
        self, ident: str, root_cause: str, regression_test: str, impact: str
    ) -> dict[str, Any]:
        out = incidents.resolve_incident(self, ident, root_cause, regression_test, impact)
        return out.as_dict()

    def report(self, release_ref: str) -> Evidence:
        return evidence.evidence_of(self, release_ref)

    def dora(self, env_name: str, days: float) -> dict[str, Any]:
        return queries.dora(self, env_name, days).as_dict()


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def open_session(
    *,
    config_path: str | None,
    actor: str | None,
    cwd: Path | None = None,
    clock: Clock | None = None,
    calendar: Calendar | None = None,
    target_factory: Callable[[Path, LoadedConfig], DeployTarget] | None = None,
    key: str | None = None,
) -> Session:
    """Build a session from the environment (``RISKCTL_HOME``, ``RISKCTL_DATABASE_URL``, …)."""
    session = open_context(
        config_path=config_path, actor=actor, cwd=cwd, clock=clock, calendar=calendar,
        target_factory=target_factory, key=key, notice=_stderr, cls=Session,
    )  # fmt: skip
    return cast("Session", session)  # built as cls=Session


def service_variables(session: Context, env: str, release: Release) -> dict[str, str]:
    """Hook: the variables a release's processes get in ``env`` (daily-run guard, demo)."""
    return deploys.service_variables(session, env, release)
