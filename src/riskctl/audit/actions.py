"""Every action name the audit trail records, as one closed set (:class:`Action`).

The trail is the only source of truth (SPEC §4): the ledger, incidents, DORA, the evidence
report and the dashboard all *fold* it by action name. A name held as a string literal in two
places can drift apart silently (a renamed ``Outcome`` once meant ``risk-run-fell_back`` entries
no longer counted as failed changes); here each name is defined once, and :data:`READ_BY` says,
for every member, which folds read it. Each fold ``match``-es on exactly the members
:data:`READ_BY` gives it (a test compares the ``case`` patterns with the table), so a new member
cannot be added without deciding here what every fold does with it.

Writing: :meth:`riskctl.audit.log.AuditLog.append` refuses a name that is not a member.
Reading: an entry written by another riskctl version may carry a name this one does not know.
A *decision* fold (the ledger, incidents) refuses it with :class:`UnknownActionError`: a
decision taken from a trail read in part could be wrong (an unknown ``approval.revoked`` would
be ignored). A *display* fold (``display=True``, the dashboard, DORA, the evidence report) shows
it as unknown (:func:`known_action` returns ``None``) and carries on.

Members are never removed or renamed: the trail is append-only, so a trail written by an older
riskctl must still fold; a retired action stays a member, folded as "nothing to do".

Errors::

    AuditError
    └── UnknownActionError   exit 3  an action name outside :class:`Action` (written or read)
"""

from __future__ import annotations

import enum
from typing import assert_never

from riskctl.errors import AuditError
from riskctl.riskrun import Outcome

__all__ = [
    "READ_BY",
    "Action",
    "Fold",
    "UnknownActionError",
    "checked_for_writing",
    "known_action",
    "parse_action",
    "read_by",
    "refused_action",
    "risk_run_outcome",
]


class Action(enum.StrEnum):
    """An audit entry's ``action``: what happened (the value is what the trail stores)."""

    # Build and gates.
    BUILD_REFUSED = "build.refused"
    RELEASE_BUILT = "release.built"
    GATES_REFUSED = "gates.refused"
    GATE_RESULT = "gate.result"
    GATES_COMPLETED = "gates.completed"
    # Reviews and approvals.
    REVIEW_RECORDED = "review.recorded"
    REVIEW_REFUSED = "review.refused"
    APPROVAL_RECORDED = "approval.recorded"
    APPROVAL_REFUSED = "approval.refused"
    MODEL_CHANGE_JUDGED = "model_change.judged"
    MODEL_CHANGE_APPROVED = "model_change.approved"
    # Deploys.
    DEPLOY_REFUSED = "deploy.refused"
    DEPLOY_CHECKED = "deploy.checked"
    DEPLOY_STARTED = "deploy.started"
    DEPLOY_SUCCEEDED = "deploy.succeeded"
    DEPLOY_FAILED = "deploy.failed"
    MIGRATIONS_APPLIED = "migrations.applied"
    SMOKE_PASSED = "smoke.passed"
    SHADOW_COMPARED = "shadow.compared"
    ANALYSIS_VERDICT = "analysis.verdict"
    # Progressive rollouts.
    ROLLOUT_STARTED = "rollout.started"
    ROLLOUT_STEP = "rollout.step"
    ROLLOUT_WEIGHT = "rollout.weight"
    ROLLOUT_PAUSED = "rollout.paused"
    ROLLOUT_PROMOTED = "rollout.promoted"
    ROLLOUT_ABORT_REQUESTED = "rollout.abort_requested"
    PROMOTE_REFUSED = "promote.refused"
    ABORT_REFUSED = "abort.refused"
    # Rollbacks.
    ROLLBACK_REFUSED = "rollback.refused"
    ROLLBACK_STARTED = "rollback.started"
    ROLLBACK_PERFORMED = "rollback.performed"
    # Instances the controller started, stopped or restarted.
    INSTANCE_RETIRED = "instance.retired"
    INSTANCE_RESTARTED = "instance.restarted"
    INSTANCE_ORPHAN_STOPPED = "instance.orphan_stopped"
    # Operating an environment's store, and the daily risk run.
    EXEC = "exec"
    EXEC_REFUSED = "exec.refused"
    RISK_RUN = "risk-run"
    RISK_RUN_REFUSED = "risk-run.refused"
    RISK_RUN_FELL_BACK = "risk-run-fell_back"
    RISK_RUN_FAILED = "risk-run-failed"
    # Incidents and notifications.
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_RESOLVED = "incident.resolved"
    NOTIFICATION_SENT = "notification.sent"
    NOTIFICATION_FAILED = "notification.failed"
    # Trust: the pinned policy and the trail's witnesses.
    POLICY_PINNED = "policy.pinned"
    WITNESS_FAILED = "witness.failed"


class Fold(enum.StrEnum):
    """A place that folds the trail by action (the function whose ``match`` reads members)."""

    LEDGER = "riskctl.ledger:Ledger._apply"
    INCIDENTS = "riskctl.incidents:_IncidentFold.apply"
    INCIDENT_RULE = "riskctl.incidents:automatic_incident"
    DORA = "riskctl.dora:dora_report"
    REPORT = "riskctl.report:evidence"
    RISK_RUNS = "riskctl.dashboard.views:_run_outcome"


_L, _I, _R, _D, _E, _V = (
    Fold.LEDGER,
    Fold.INCIDENTS,
    Fold.INCIDENT_RULE,
    Fold.DORA,
    Fold.REPORT,
    Fold.RISK_RUNS,
)

#: Which folds read each member (every member is listed: a test checks). Any other member is
#: history only: kept in the trail and shown, changing no fold's result.
READ_BY: dict[Action, frozenset[Fold]] = {
    Action.BUILD_REFUSED: frozenset(),
    Action.RELEASE_BUILT: frozenset({_L, _D, _E}),
    Action.GATES_REFUSED: frozenset(),
    Action.GATE_RESULT: frozenset({_L, _D, _E}),
    Action.GATES_COMPLETED: frozenset(),
    Action.REVIEW_RECORDED: frozenset({_L, _E}),
    Action.REVIEW_REFUSED: frozenset({_E}),
    Action.APPROVAL_RECORDED: frozenset({_L, _E}),
    Action.APPROVAL_REFUSED: frozenset({_E}),
    Action.MODEL_CHANGE_JUDGED: frozenset({_E}),
    Action.MODEL_CHANGE_APPROVED: frozenset({_L, _E}),
    Action.DEPLOY_REFUSED: frozenset({_E}),
    Action.DEPLOY_CHECKED: frozenset({_E}),
    Action.DEPLOY_STARTED: frozenset({_I, _E}),
    Action.DEPLOY_SUCCEEDED: frozenset({_L, _D, _E}),
    Action.DEPLOY_FAILED: frozenset({_L, _E}),
    Action.MIGRATIONS_APPLIED: frozenset({_E}),
    Action.SMOKE_PASSED: frozenset({_E}),
    Action.SHADOW_COMPARED: frozenset({_E}),
    Action.ANALYSIS_VERDICT: frozenset({_E}),
    Action.ROLLOUT_STARTED: frozenset(),
    Action.ROLLOUT_STEP: frozenset({_E}),
    Action.ROLLOUT_WEIGHT: frozenset(),
    Action.ROLLOUT_PAUSED: frozenset(),
    Action.ROLLOUT_PROMOTED: frozenset(),
    Action.ROLLOUT_ABORT_REQUESTED: frozenset(),
    Action.PROMOTE_REFUSED: frozenset(),
    Action.ABORT_REFUSED: frozenset(),
    Action.ROLLBACK_REFUSED: frozenset({_E}),
    Action.ROLLBACK_STARTED: frozenset(),
    Action.ROLLBACK_PERFORMED: frozenset({_L, _R, _D, _E}),
    Action.INSTANCE_RETIRED: frozenset(),
    Action.INSTANCE_RESTARTED: frozenset(),
    Action.INSTANCE_ORPHAN_STOPPED: frozenset(),
    Action.EXEC: frozenset(),
    Action.EXEC_REFUSED: frozenset(),
    Action.RISK_RUN: frozenset({_I, _E, _V}),
    Action.RISK_RUN_REFUSED: frozenset(),
    Action.RISK_RUN_FELL_BACK: frozenset({_R, _D, _V}),
    Action.RISK_RUN_FAILED: frozenset({_R, _D, _V}),
    Action.INCIDENT_OPENED: frozenset({_I}),
    Action.INCIDENT_RESOLVED: frozenset({_I}),
    Action.NOTIFICATION_SENT: frozenset(),
    Action.NOTIFICATION_FAILED: frozenset(),
    Action.POLICY_PINNED: frozenset(),
    Action.WITNESS_FAILED: frozenset(),
}


def read_by(fold: Fold) -> frozenset[Action]:
    """The members ``fold`` reads."""
    return frozenset(a for a, folds in READ_BY.items() if fold in folds)


class UnknownActionError(AuditError):
    """An action name that is not a member of :class:`Action`: refused when written (a bug in
    riskctl), and on a decision path when read (a trail this riskctl cannot fully read)."""

    exit_code = 3


def known_action(value: object) -> Action | None:
    """The member named ``value``, or ``None`` when this riskctl does not know it (display)."""
    if isinstance(value, Action):
        return value
    if isinstance(value, str):
        try:
            return Action(value)
        except ValueError:
            return None
    return None


def parse_action(value: object, *, seq: object = None) -> Action:
    """The member named ``value`` read from entry ``seq``; :class:`UnknownActionError` if none."""
    found = known_action(value)
    if found is None:
        where = f"audit entry #{seq}" if seq is not None else "an audit entry"
        raise UnknownActionError(
            f"{where} records action {value!r}, which this riskctl does not know (written by "
            "another riskctl version?): no decision is taken from a trail it cannot fully "
            "read; use the riskctl release that wrote it"
        )
    return found


def checked_for_writing(value: object) -> Action:
    """The member named ``value`` about to be appended; :class:`UnknownActionError` if none."""
    found = known_action(value)
    if found is None:
        raise UnknownActionError(
            f"refusing to record audit action {value!r}: it is not a member of "
            "riskctl.audit.actions.Action (add it there, and to every fold site)"
        )
    return found


def risk_run_outcome(outcome: Outcome) -> Action:
    """The action that records a guarded daily run ending in ``outcome`` (issue 9).

    Only a failure has its own entry (every attempt is recorded as :attr:`Action.RISK_RUN`);
    the member's value, not ``outcome``'s, is what DORA and incidents match, so renaming an
    :class:`~riskctl.riskrun.Outcome` value cannot drop failures from the metrics.
    """
    match outcome:
        case Outcome.FELL_BACK:
            return Action.RISK_RUN_FELL_BACK
        case Outcome.FAILED:
            return Action.RISK_RUN_FAILED
        case Outcome.SUCCEEDED | Outcome.REFUSED:
            raise ValueError(f"a risk run that {outcome.value} has no outcome entry of its own")
        case _:
            assert_never(outcome)


def refused_action(what: str) -> Action:
    """The ``<what>.refused`` member for an operation refused by policy (``promote``, ``abort``,
    ``rollback``, ``exec``, ``risk-run``…); :class:`UnknownActionError` if there is none."""
    return checked_for_writing(f"{what}.refused")
