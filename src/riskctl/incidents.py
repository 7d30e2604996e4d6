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

from riskctl.audit.actions import Action, known_action, parse_action
from riskctl.clock import parse_instant

__all__ = [
    "OPENED",
    "RESOLVED",
    "Incident",
    "automatic_incident",
    "fold_incidents",
    "incident_id",
]

OPENED = Action.INCIDENT_OPENED
RESOLVED = Action.INCIDENT_RESOLVED
#: The daily run's outcomes that open an incident (and whose incidents start at the run).
_RUN_FAILURES = (Action.RISK_RUN_FELL_BACK, Action.RISK_RUN_FAILED)


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
    action: Action | str, env: str | None, details: Mapping[str, Any]
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

    ``action`` was just appended, so it is a member (:class:`UnknownActionError` otherwise).
    """
    match parse_action(action):
        case Action.ROLLBACK_PERFORMED:
            return _rollback_incident(env, details)
        case Action.RISK_RUN_FELL_BACK | Action.RISK_RUN_FAILED as failed:
            return _risk_run_incident(failed, env, details)
        case _:
            return None  # no impact on users (not read here: riskctl.audit.actions.READ_BY)


def _rollback_incident(env: str | None, details: Mapping[str, Any]) -> dict[str, Any] | None:
    reason = str(details.get("reason", ""))
    if reason == "requested" or "(abort by " in reason:
        return None  # a person rolled back or aborted: their decision, not an incident
    if details.get("took_traffic") is False:
        return None  # stopped before any user request reached it: a failed deploy, no impact
    failed = details.get("aborted")
    return {
        "summary": f"automatic rollback in {env}: {reason}",
        "cause": Action.ROLLBACK_PERFORMED.value,
        "release": failed or details.get("release"),
        "restored": True,
        "impact": f"{failed or 'the new release'} served part of {env}'s traffic until "
        "the rollback",
    }


def _risk_run_incident(
    action: Action, env: str | None, details: Mapping[str, Any]
) -> dict[str, Any]:
    fell_back = action is Action.RISK_RUN_FELL_BACK
    return {
        "summary": f"risk run {details.get('date', '')} in {env}: {details.get('summary', '')}",
        "cause": action.value,
        "release": details.get("release"),
        "date": details.get("date"),
        "restored": fell_back,
        "impact": (
            "numbers produced by the last good release"
            if fell_back
            else "no VaR numbers for the business date"
        ),
    }


def fold_incidents(bodies: Iterable[Mapping[str, Any]], *, display: bool = False) -> list[Incident]:
    """Every incident in the trail, oldest first, with its impact start and restoration.

    An entry whose action this riskctl does not know refuses the fold
    (:class:`~riskctl.audit.actions.UnknownActionError`): resolving an incident is decided from
    it. With ``display`` (a list, a report) such an entry is passed over.
    """
    fold = _IncidentFold()
    for body in bodies:
        raw = body.get("action")
        action = known_action(raw) if display else parse_action(raw, seq=body.get("seq"))
        if action is not None:
            fold.apply(action, body)
    return list(fold.incidents.values())


@dataclass
class _IncidentFold:
    incidents: dict[str, Incident] = field(default_factory=dict)
    # (env, release) -> time the release's deploy there started
    deploy_started: dict[tuple[str | None, str], datetime] = field(default_factory=dict)
    # (env, business date) -> time the first run attempt of that date started
    run_started: dict[tuple[str | None, str], datetime] = field(default_factory=dict)

    def apply(self, action: Action, body: Mapping[str, Any]) -> None:
        env = body.get("env")
        details: Mapping[str, Any] = body.get("details") or {}
        at = parse_instant(body["time"])
        match action:
            case Action.DEPLOY_STARTED:
                if details.get("release"):
                    self.deploy_started[(env, str(details["release"]))] = at
            case Action.RISK_RUN:
                if details.get("date"):
                    self._run(env, details, at)
            case Action.INCIDENT_OPENED:
                self._opened(body, env, details, at)
            case Action.INCIDENT_RESOLVED:
                self._resolved(body, details, at)
            case _:
                pass  # not read here (riskctl.audit.actions.READ_BY)

    def _run(self, env: str | None, details: Mapping[str, Any], at: datetime) -> None:
        key = (env, str(details["date"]))
        started = at.timestamp() - float(details.get("seconds", 0.0))
        self.run_started.setdefault(key, datetime.fromtimestamp(started, at.tzinfo))
        if details.get("succeeded"):
            for incident in self.incidents.values():
                if (
                    incident.env == env
                    and incident.restored_at is None
                    and incident.cause == Action.RISK_RUN_FAILED
                ):
                    incident.restored_at = at

    def _opened(
        self, body: Mapping[str, Any], env: str | None, details: Mapping[str, Any], at: datetime
    ) -> None:
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
            if incident.cause == Action.ROLLBACK_PERFORMED and incident.release:
                incident.started_at = self.deploy_started.get((env, str(incident.release)))
            elif incident.cause in _RUN_FAILURES and details.get("date"):
                incident.started_at = self.run_started.get((env, str(details["date"])))
            if details.get("restored"):
                incident.restored_at = at
        self.incidents[incident.id] = incident

    def _resolved(self, body: Mapping[str, Any], details: Mapping[str, Any], at: datetime) -> None:
        found = self.incidents.get(str(details.get("id", "")))
        if found is not None and found.resolved_at is None:
            found.resolved_at = at
            found.resolved_by = str(body.get("actor", ""))
            found.root_cause = str(details.get("root_cause", ""))
            found.regression_test = str(details.get("regression_test", ""))
            if details.get("impact"):
                found.impact = str(details["impact"])
