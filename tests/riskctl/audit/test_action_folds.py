"""Every place that folds the audit trail reads exactly the Action members READ_BY gives it and
survives every member, and an entry whose action this riskctl does not know is refused on
decision folds and shown as unknown on display folds."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from riskctl.audit.actions import READ_BY, Action, Fold, UnknownActionError, read_by
from riskctl.config import load_config
from riskctl.dashboard.views import UNKNOWN_ACTION, audit_tail, risk_runs
from riskctl.dora import dora_report
from riskctl.incidents import automatic_incident, fold_incidents
from riskctl.ledger import Ledger, release_to_details
from riskctl.model import Release
from riskctl.report import evidence, to_markdown

ROOT = Path(__file__).resolve().parents[3]
UNTIL = datetime(2026, 3, 31, tzinfo=UTC)
RELEASE = Release(
    id="r1",
    digest="sha256:" + "a" * 64,
    commit="c" * 40,
    author="Eng One",
    author_email="eng-1@example.com",
    version="1.0.0",
    built_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
)
#: Details that make each member's entry meaningful to the folds that read it.
_DETAILS: dict[Action, dict[str, Any]] = {
    Action.RELEASE_BUILT: release_to_details(RELEASE),
    Action.GATE_RESULT: {"release": "r1", "gate": "lint", "status": "passed"},
    Action.APPROVAL_RECORDED: {"release": "r1", "roles": ["risk"]},
    Action.ROLLBACK_PERFORMED: {"release": "r0", "aborted": "r1", "reason": "error rate"},
    Action.RISK_RUN: {"release": "r1", "date": "2026-03-10", "succeeded": True, "seconds": 1.0},
    Action.RISK_RUN_FAILED: {"release": "r1", "date": "2026-03-10", "summary": "no numbers"},
    Action.RISK_RUN_FELL_BACK: {"release": "r1", "date": "2026-03-10", "summary": "fell back"},
    Action.INCIDENT_RESOLVED: {"id": "INC-1", "root_cause": "x", "regression_test": "t"},
}


def body(seq: int, action: str, **extra: Any) -> dict[str, Any]:
    """An entry as riskctl stores it, about release r1 in prod."""
    details = _DETAILS.get(Action(action), {"release": "r1"}) if action in set(Action) else {}
    return {"seq": seq, "time": f"2026-03-{seq % 28 + 1:02d}T10:00:00.000000Z", "actor": "eng-2",
            "action": action, "env": "prod", "release": RELEASE.digest,
            "details": {**details, **extra}}  # fmt: skip


def _trail_with(action: str) -> list[dict[str, Any]]:
    return [body(1, Action.RELEASE_BUILT), body(2, action), body(3, Action.DEPLOY_SUCCEEDED)]


def _evidence(bodies: list[dict[str, Any]]) -> Any:
    return evidence(
        bodies,
        RELEASE,
        load_config(ROOT / "delivery.toml").config,
        generated_at=UNTIL,
        artifacts=[],
        signature=(True, "ok"),
        audit=(True, "verified", []),
    )


#: Every site that folds the trail (by name, for the test ids).
FOLDS: dict[str, Callable[[list[dict[str, Any]]], object]] = {
    "ledger": Ledger.from_bodies,
    "incidents": fold_incidents,
    "dora": lambda b: dora_report(b, "prod", until=UNTIL, days=60).as_dict(),
    "report": lambda b: to_markdown(_evidence(b)),
    "dashboard.audit_tail": lambda b: audit_tail(b, 10),
    "dashboard.risk_runs": lambda b: risk_runs(b, 10),
    "automatic_incident": lambda b: [
        automatic_incident(x["action"], "prod", x["details"]) for x in b
    ],
}


def test_every_member_says_which_folds_read_it() -> None:
    """READ_BY lists every member: adding one means deciding there what each fold does."""
    assert set(READ_BY) == set(Action)


def _function(fold: Fold) -> ast.AST:
    module, _, qualname = fold.value.partition(":")
    tree: ast.AST = ast.parse((ROOT / "src" / (module.replace(".", "/") + ".py")).read_text())
    for name in qualname.split("."):
        tree = next(
            n
            for n in ast.walk(tree)
            if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == name
        )
    return tree


def _case_members(fold: Fold) -> set[str]:
    """The Action members named in the ``case`` patterns of ``fold``'s function."""
    found = set()
    for case in ast.walk(_function(fold)):
        if isinstance(case, ast.match_case):
            for node in ast.walk(case.pattern):
                value = getattr(node, "value", None)
                if (
                    isinstance(node, ast.MatchValue)
                    and isinstance(value, ast.Attribute)
                    and ast.unparse(value.value) == "Action"
                ):
                    found.add(value.attr)
    return found


@pytest.mark.parametrize("fold", list(Fold))
def test_each_fold_matches_exactly_the_members_it_reads(fold: Fold) -> None:
    """A fold's ``match`` names exactly the members READ_BY gives it (none missed, none extra)."""
    assert _case_members(fold) == {a.name for a in read_by(fold)}


def test_the_case_scan_sees_patterns() -> None:
    """The scan is not vacuous: the ledger's match names deploy outcomes and the build."""
    assert {"DEPLOY_SUCCEEDED", "DEPLOY_FAILED", "RELEASE_BUILT"} <= _case_members(Fold.LEDGER)


@pytest.mark.parametrize("site", FOLDS)
@pytest.mark.parametrize("action", list(Action))
def test_every_fold_site_handles_every_member(site: str, action: Action) -> None:
    """Folding a trail holding ``action`` never reaches a fold site's ``assert_never``."""
    FOLDS[site](_trail_with(action.value))


def test_the_ledger_refuses_an_unknown_action() -> None:
    """A decision fold refuses a trail with an action it does not know, naming the entry."""
    with pytest.raises(UnknownActionError, match=r"audit entry #2 records action 'approval\.re"):
        Ledger.from_bodies(_trail_with("approval.revoked"))


def test_a_display_ledger_keeps_an_unknown_entry_unfolded() -> None:
    """``display=True``: the entry stays in events, listed as unknown; the rest still folds."""
    ledger = Ledger.from_bodies(_trail_with("approval.revoked"), display=True)
    assert ledger.unknown == [2]
    assert [e["action"] for e in ledger.events][1] == "approval.revoked"
    assert ledger.current == {"prod": "r1"}
    assert ledger.approvals == {}


def test_incidents_refuse_an_unknown_action_unless_displayed() -> None:
    """Resolving is decided from the incident fold: an unknown entry refuses it; a list skips it."""
    bodies = [body(1, Action.INCIDENT_OPENED, summary="s"), body(2, "incident.reopened")]
    with pytest.raises(UnknownActionError, match="#2"):
        fold_incidents(bodies)
    (incident,) = fold_incidents(bodies, display=True)
    assert incident.id == "INC-1"
    assert incident.open


def test_dora_leaves_an_unknown_entry_out_and_says_so() -> None:
    """DORA figures come without the unknown entry, which the report lists by seq."""
    with_unknown = dora_report(_trail_with("deploy.rolled"), "prod", until=UNTIL, days=60)
    without = dora_report(_trail_with(Action.EXEC), "prod", until=UNTIL, days=60)
    assert with_unknown.as_dict()["unknown_entries"] == [2]
    assert "unknown_entries" not in without.as_dict()
    assert (
        with_unknown.as_dict()["deployment_frequency"] == without.as_dict()["deployment_frequency"]
    )


def test_dora_counts_a_failed_run_by_its_member() -> None:
    """A risk-run-failed entry after a deploy makes that deploy a failed change."""
    bodies = [body(3, Action.DEPLOY_SUCCEEDED), body(4, Action.RISK_RUN_FAILED)]
    report = dora_report(bodies, "prod", until=UNTIL, days=60).as_dict()
    assert report["change_failure_rate"]["failed"] == 1
    assert report["change_failure_rate"]["failures"][0]["reason"] == "failed risk run 2026-03-10"


def test_the_report_lists_an_unknown_entry_and_is_not_complete() -> None:
    """The evidence report shows the entry as unknown, interprets nothing of it, and is
    INCOMPLETE; the same trail without it is complete."""
    known = _evidence(_trail_with(Action.EXEC))
    ev = _evidence(_trail_with("approval.revoked"))
    assert known.complete
    assert not ev.complete
    text = to_markdown(ev)
    assert "#2: action approval.revoked is unknown to this riskctl" in text
    assert "INCOMPLETE" in text


def test_the_dashboard_marks_an_unknown_action() -> None:
    """The audit tail shows the entry's action as stored, its summary marked unknown; a risk-run
    look-alike with an unknown name is not listed as a run."""
    (entry,) = audit_tail([body(1, "risk-run-skipped", date="2026-03-10")], 10)["entries"]
    assert entry["action"] == "risk-run-skipped"
    assert entry["summary"].startswith(UNKNOWN_ACTION)
    (known,) = audit_tail([body(1, Action.EXEC)], 10)["entries"]
    assert not known["summary"].startswith(UNKNOWN_ACTION)
    assert risk_runs([body(1, "risk-run-skipped")], 10) == {"total": 0, "runs": []}


def test_automatic_incident_refuses_an_unknown_action() -> None:
    """The write-time rule is only asked about appended (known) actions; anything else is a bug."""
    with pytest.raises(UnknownActionError):
        automatic_incident("rollback.forced", "prod", {})
