"""The closed set of audit actions: written only as members, helpers mapping onto members."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from riskctl.audit.actions import (
    Action,
    UnknownActionError,
    known_action,
    parse_action,
    refused_action,
    risk_run_outcome,
)
from riskctl.audit.log import AuditLog, Record
from riskctl.audit.sqlite import SqliteAuditStore
from riskctl.errors import AuditError
from riskctl.riskrun import Outcome
from riskctl.signing import load_or_create_key

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _log(tmp_path: Path) -> AuditLog:
    store = SqliteAuditStore(tmp_path / "audit.sqlite")
    return AuditLog(store, load_or_create_key(tmp_path / "keys", "audit"), tmp_path / "cp.jsonl")


def test_append_stores_the_members_value(tmp_path: Path) -> None:
    """A member and its value as a string both append, stored as the plain value."""
    log = _log(tmp_path)
    first = log.append([Record(Action.DEPLOY_SUCCEEDED, "eng-1", T0)])[0]
    second = log.append([Record("deploy.failed", "eng-1", T0)])[0]
    assert (first["action"], second["action"]) == ("deploy.succeeded", "deploy.failed")
    assert [b["action"] for b in log.unverified_bodies()] == ["deploy.succeeded", "deploy.failed"]


@pytest.mark.parametrize(
    "name", ["test.action", "Deploy.Succeeded", "deploy.succeeded ", "risk-run-fellback", ""]
)
def test_append_refuses_a_name_outside_the_set(tmp_path: Path, name: str) -> None:
    """An unknown, re-cased, padded or mistyped name is refused with a clear error."""
    log = _log(tmp_path)
    with pytest.raises(UnknownActionError, match="not a member of riskctl.audit.actions.Action"):
        log.append([Record(name, "eng-1", T0)])


def test_a_refused_batch_writes_nothing(tmp_path: Path) -> None:
    """One unknown action in a batch: none of the batch is appended (all or none)."""
    log = _log(tmp_path)
    batch = [Record(Action.RELEASE_BUILT, "eng-1", T0), Record("release.bulit", "eng-1", T0)]
    with pytest.raises(UnknownActionError):
        log.append(batch)
    assert log.unverified_bodies() == []


def test_unknown_action_error_is_an_audit_refusal() -> None:
    """Reading or writing an unknown name is an AuditError that exits 3 (a refusal)."""
    assert issubclass(UnknownActionError, AuditError)
    assert UnknownActionError.exit_code == 3


def test_parse_action_names_the_entry() -> None:
    """A decision read of an unknown name says which entry and why no decision is taken."""
    assert parse_action("incident.opened", seq=4) is Action.INCIDENT_OPENED
    with pytest.raises(UnknownActionError, match=r"audit entry #7 records action 'approval\.re"):
        parse_action("approval.revoked", seq=7)


@pytest.mark.parametrize("value", ["approval.revoked", None, 3, ["deploy.failed"]])
def test_known_action_is_none_for_what_it_does_not_know(value: object) -> None:
    """Display reads get None for anything not a member's value (never an exception)."""
    assert known_action(value) is None


def test_every_member_round_trips() -> None:
    """Each member parses back from its stored value; values are unique and lowercase."""
    values = [a.value for a in Action]
    assert len(set(values)) == len(values)
    for action in Action:
        assert parse_action(action.value) is action
        assert action.value == action.value.lower().strip()


def test_risk_run_outcome_maps_failures_to_their_members() -> None:
    """Fallback and failure map to members whose values DORA and incidents match."""
    assert risk_run_outcome(Outcome.FELL_BACK) is Action.RISK_RUN_FELL_BACK
    assert risk_run_outcome(Outcome.FAILED) is Action.RISK_RUN_FAILED
    # The value recorded today (envops builds f"risk-run-{outcome.value}") is the same name.
    for outcome in (Outcome.FELL_BACK, Outcome.FAILED):
        assert risk_run_outcome(outcome).value == f"risk-run-{outcome.value}"


@pytest.mark.parametrize("outcome", [Outcome.SUCCEEDED, Outcome.REFUSED])
def test_risk_run_outcome_refuses_outcomes_without_an_entry(outcome: Outcome) -> None:
    """A run that succeeded or was refused has no outcome entry of its own."""
    with pytest.raises(ValueError, match="no outcome entry"):
        risk_run_outcome(outcome)


def test_refused_action_covers_the_operations_refused_by_policy() -> None:
    """Each operation whose refusal is recorded has a member; an unknown one is refused."""
    for what in ("promote", "abort", "rollback", "exec", "risk-run", "deploy", "approval"):
        assert refused_action(what).value == f"{what}.refused"
    with pytest.raises(UnknownActionError):
        refused_action("delete")
