"""``riskctl incident open|resolve|list``: incidents opened by people (rollbacks and failed risk
runs open theirs automatically, :meth:`Context.record`), resolved with a root cause and the
regression test that prevents a repeat. Both are signed statements."""

from __future__ import annotations

from dataclasses import dataclass

from riskctl.errors import UsageError
from riskctl.incidents import OPENED, RESOLVED, Incident, fold_incidents, incident_id
from riskctl.trust.statements import Kind
from riskctl.usecases._result import Result
from riskctl.usecases.context import Context

__all__ = ["OpenedIncident", "list_incidents", "open_incident", "resolve_incident"]


@dataclass(frozen=True)
class OpenedIncident(Result):
    """The incident just opened."""

    id: str
    env: str
    summary: str


def list_incidents(ctx: Context, *, include_resolved: bool = True) -> list[Incident]:
    """Incidents, oldest first (only the open ones unless ``include_resolved``)."""
    found = fold_incidents(ctx.audit.bodies(), display=True)  # a listing: shown, not decided
    return [i for i in found if include_resolved or i.open]


def open_incident(
    ctx: Context, env_name: str, summary: str, impact: str, release_ref: str | None
) -> OpenedIncident:
    """Open an incident in ``env_name`` by hand."""
    actor = ctx.require_actor()
    ctx.config.environment(env_name)  # validates the name
    ctx.trust.require_pinned(env_name)
    if not summary.strip():
        raise UsageError("an incident needs a --summary saying what is wrong")
    release = ctx.ledger().release(release_ref) if release_ref else None
    entry = ctx.record(
        OPENED,
        actor=actor,
        env=env_name,
        release=release.digest if release else None,
        details={
            "summary": summary.strip(),
            "impact": impact.strip(),
            "automatic": False,
            "cause": "manual",
            "release": release.id if release else None,
            **ctx.sign(Kind.INCIDENT_OPEN, summary.strip(), env_name),
        },
    )
    return OpenedIncident(incident_id(int(entry["seq"])), env_name, summary)


def resolve_incident(
    ctx: Context, ident: str, root_cause: str, regression_test: str, impact: str
) -> Incident:
    """Resolve an open incident; both the root cause and the regression test are required."""
    actor = ctx.require_actor()
    known = {i.id: i for i in fold_incidents(ctx.audit.bodies())}
    incident = known.get(ident.strip().upper())
    if incident is None:
        listed = ", ".join(i for i, x in known.items() if x.open) or "none"
        raise UsageError(f"no incident {ident!r}; open incidents: {listed}")
    if not incident.open:
        raise UsageError(
            f"{incident.id} was already resolved by {incident.resolved_by} at "
            f"{incident.resolved_at.isoformat() if incident.resolved_at else '?'}"
        )
    given = (("--root-cause", root_cause), ("--regression-test", regression_test))
    missing = [flag for flag, value in given if not value.strip()]
    if missing:
        raise UsageError(
            f"resolving {incident.id} needs {' and '.join(missing)}: what caused it and the "
            "test that now prevents a repeat"
        )
    ctx.trust.require_pinned(incident.env)
    ctx.record(
        RESOLVED,
        actor=actor,
        env=incident.env,
        details={
            **ctx.sign(Kind.INCIDENT_RESOLUTION, incident.id, incident.env),
            "id": incident.id,
            "root_cause": root_cause.strip(),
            "regression_test": regression_test.strip(),
            "impact": impact.strip(),
        },
    )
    return {i.id: i for i in fold_incidents(ctx.audit.bodies())}[incident.id]
