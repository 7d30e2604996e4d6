"""Incidents, folded from the audit trail (pure), and the rule for opening one automatically.

An automatic rollback and a failed or fallback risk run open an incident (SPEC §4); people open
and resolve them too. The audit trail is the only record: ``incident.opened`` and
``incident.resolved`` entries, with ``INC-<seq>`` naming an incident by the sequence number of the
entry that opened it (unique, and tamper-evident like every other entry).

Each incident carries three instants: when the impact *started* (the failed release's deploy,
the failed run), when the service was *restored* (the rollback completed, the last good release
produced the numbers, a later run succeeded) and when people *resolved* it with a root cause and
the regression test that prevents a repeat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from riskctl.clock import parse_instant

__all__ = [
    "OPENED",
    "RESOLVED",
    "Incident",
    "automatic_incident",
    "fold_incidents",
    "incident_id",
]

OPENED = "incident.opened"
RESOLVED = "incident.resolved"


def incident_id(seq: int) -> str:
    """The id of the incident opened by audit entry ``seq``."""
    return f"INC-{seq}"


@dataclass
class Incident:
    """One incident and what is known of it."""

    id: str
    env: str | None
    summary: str
    opened_at: datetime
    opened_by: str
    automatic: bool
    cause: str = ""  # the audit action that opened it, or "manual"
    release: str | None = None
    impact: str = ""
    started_at: datetime | None = None
    restored_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    root_cause: str = ""
    regression_test: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    @property
    def restore_seconds(self) -> float | None:
        """Impact start (else opening) to service restored (else resolved); None while neither."""
        end = self.restored_at or self.resolved_at
        if end is None:
            return None
        start = self.started_at or self.opened_at
        return max((end - start).total_seconds(), 0.0)

    def as_dict(self) -> dict[str, Any]:
        def iso(x: datetime | None) -> str | None:
            return x.isoformat() if x else None

        return {
            "id": self.id,
            "env": self.env,
            "summary": self.summary,
            "status": "open" if self.open else "resolved",
            "automatic": self.automatic,
            "cause": self.cause,
            "release": self.release,
            "impact": self.impact,
            "opened_at": iso(self.opened_at),
            "opened_by": self.opened_by,
            "started_at": iso(self.started_at),
            "restored_at": iso(self.restored_at),
            "resolved_at": iso(self.resolved_at),
            "resolved_by": self.resolved_by,
            "root_cause": self.root_cause,
            "regression_test": self.regression_test,
            "restore_seconds": self.restore_seconds,
        }


def automatic_incident(
    action: str, env: str | None, details: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The ``incident.opened`` details that the audit entry ``action`` calls for, or None.

    * ``rollback.performed`` that nobody asked for, of a release that took traffic (a failed
      canary analysis, a crash under traffic): the service was restored by the rollback itself.
      A release stopped before any traffic reached it (crashed on start, blocked by the shadow
      comparison or pre-promotion analysis) is a failed deploy, not an incident.
    * ``risk-run-fell_back``: the stable release failed the daily run; the last good release
      produced the numbers, so service is restored but the release is suspect.
    * ``risk-run-failed``: no release produced the numbers: open until resolved or a later run
      of the environment succeeds.
    """
    if action == "rollback.performed":
        reason = str(details.get("reason", ""))
        if reason == "requested" or "(abort by " in reason:
            return None  # a person rolled back or aborted: their decision, not an incident
        if details.get("took_traffic") is False:
            return None  # stopped before any user request reached it: a failed deploy, no impact
        failed = details.get("aborted")
        return {
            "summary": f"automatic rollback in {env}: {reason}",
            "cause": action,
            "release": failed or details.get("release"),
            "restored": True,
            "impact": f"{failed or 'the new release'} served part of {env}'s traffic until "
            "the rollback",
        }
    if action in ("risk-run-fell_back", "risk-run-failed"):
        fell_back = action == "risk-run-fell_back"
        return {
            "summary": f"risk run {details.get('date', '')} in {env}: {details.get('summary', '')}",
            "cause": action,
            "release": details.get("release"),
            "date": details.get("date"),
            "restored": fell_back,
            "impact": (
                "numbers produced by the last good release"
                if fell_back
                else "no VaR numbers for the business date"
            ),
        }
    return None


def fold_incidents(bodies: Iterable[Mapping[str, Any]]) -> list[Incident]:
    """Every incident in the trail, oldest first, with its impact start and restoration."""
    incidents: dict[str, Incident] = {}
    # env -> time the release now being rolled out there started its deploy
    deploy_started: dict[tuple[str | None, str], datetime] = {}
    run_started: dict[tuple[str | None, str], datetime] = {}
    for body in bodies:
        action = str(body.get("action", ""))
        env = body.get("env")
        details: Mapping[str, Any] = body.get("details") or {}
        at = parse_instant(body["time"])
        if action == "deploy.started" and details.get("release"):
            deploy_started[(env, str(details["release"]))] = at
        elif action == "risk-run" and details.get("date"):
            key = (env, str(details["date"]))
            started = at.timestamp() - float(details.get("seconds", 0.0))
            run_started.setdefault(key, datetime.fromtimestamp(started, at.tzinfo))
            if details.get("succeeded"):
                for incident in incidents.values():
                    if (
                        incident.env == env
                        and incident.restored_at is None
                        and (incident.cause == "risk-run-failed")
                    ):
                        incident.restored_at = at
        elif action == OPENED:
            incident = Incident(
                id=incident_id(int(body["seq"])),
                env=env,
                summary=str(details.get("summary", "")),
                opened_at=at,
                opened_by=str(body.get("actor", "")),
                automatic=bool(details.get("automatic", False)),
                cause=str(details.get("cause", "manual")),
                release=details.get("release"),
                impact=str(details.get("impact", "")),
                details=dict(details),
            )
            if incident.automatic:
                if incident.cause == "rollback.performed" and incident.release:
                    incident.started_at = deploy_started.get((env, str(incident.release)))
                elif incident.cause.startswith("risk-run-") and details.get("date"):
                    incident.started_at = run_started.get((env, str(details["date"])))
                if details.get("restored"):
                    incident.restored_at = at
            incidents[incident.id] = incident
        elif action == RESOLVED:
            found = incidents.get(str(details.get("id", "")))
            if found is not None and found.resolved_at is None:
                found.resolved_at = at
                found.resolved_by = str(body.get("actor", ""))
                found.root_cause = str(details.get("root_cause", ""))
                found.regression_test = str(details.get("regression_test", ""))
                if details.get("impact"):
                    found.impact = str(details["impact"])
    return list(incidents.values())
