"""Use-case results serialise to exactly the dicts `--json` printed before they were dataclasses."""

from __future__ import annotations

import dataclasses

import pytest

from riskctl.usecases._result import plain
from riskctl.usecases.approvals import ApprovalResult, ReviewResult
from riskctl.usecases.deploys import DeployResult
from riskctl.usecases.envops import RiskRunAttempt, RiskRunResult
from riskctl.usecases.incidents import OpenedIncident
from riskctl.usecases.manifests import Manifests
from riskctl.usecases.queries import EnvStatus, LastDeploy, StatusResult
from riskctl.usecases.release import GateRow, GatesResult
from riskctl.usecases.rollouts import ControlResult, RollbackResult


def test_results_are_frozen() -> None:
    """A result cannot be changed after the use case returned it."""
    result = ReviewResult("rel-1", "sha256:1", "eng-2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.reviewer = "eng-1"  # type: ignore[misc]


def test_tuples_become_lists_and_nested_results_dicts() -> None:
    """Steps and gate rows serialise as lists of plain values (what json.loads gives back)."""
    gates = GatesResult(
        "rel-1", "sha256:1", False, (GateRow("unit", "failed", 1.5, "sha256:l", "2 failed"),)
    )
    assert gates.as_dict() == {
        "release": "rel-1",
        "digest": "sha256:1",
        "passed": False,
        "gates": [
            {
                "gate": "unit",
                "status": "failed",
                "duration_s": 1.5,
                "log_digest": "sha256:l",
                "summary": "2 failed",
            }
        ],
    }
    approval = ApprovalResult("rel-1", "sha256:1", "prod", "risk-1", ("risk",), False)
    assert approval.as_dict()["roles"] == ["risk"]


def test_a_trailing_underscore_is_dropped() -> None:
    """`from_` (a keyword as a field name) is `from` in the JSON, as `riskctl rollback` printed."""
    out = RollbackResult("prod", "rel-1", "rel-2", "restored", ("stopped rel-2",)).as_dict()
    assert out == {
        "env": "prod",
        "release": "rel-1",
        "from": "rel-2",
        "message": "restored",
        "steps": ["stopped rel-2"],
    }


def test_abort_says_aborted_and_promote_does_not() -> None:
    """`abort` adds `"aborted": true`; `promote`'s object has no such key."""
    promoted = ControlResult("prod", "promoted", ("50 %",), "Progressing", None)
    aborted = dataclasses.replace(promoted, aborted=True)
    assert "aborted" not in promoted.as_dict()
    assert aborted.as_dict()["aborted"] is True
    assert set(promoted.as_dict()) == {"env", "message", "steps", "phase", "analysis"}


def test_a_targets_own_status_keys_are_spread_in() -> None:
    """What the target adds (slots, analysis, controller, …) sits beside the fixed keys."""
    env = EnvStatus(
        url="http://127.0.0.1:1",
        stable_release="rel-1",
        stable_digest="sha256:1",
        canary_release=None,
        canary_weight=0,
        phase="Healthy",
        health="up",
        strategy="canary",
        last_deploy=LastDeploy("rel-1", True, "2026-03-02T15:00:00+00:00", "sre-1"),
        extra={"controller": "idle", "slots": {"blue": {"weight": (100,)}}},
    )
    out = StatusResult({"prod": env}).as_dict()["environments"]["prod"]
    assert out["controller"] == "idle"
    assert out["last_deploy"] == {
        "release": "rel-1",
        "ok": True,
        "at": "2026-03-02T15:00:00+00:00",
        "actor": "sre-1",
    }
    assert "extra" not in out
    # What a target reported passes through unchanged (not rewritten by the serialiser).
    assert out["slots"] == {"blue": {"weight": (100,)}}


def test_deploy_result_keys() -> None:
    """`riskctl deploy --json` keys, as before the use cases returned dataclasses."""
    result = DeployResult(
        "rel-1", "sha256:1", "prod", "canary", ("a",), "http://x", "ok", "Healthy", None, None
    )
    assert set(result.as_dict()) == {
        "release", "digest", "env", "strategy", "steps", "url", "message", "phase", "analysis",
        "shadow",
    }  # fmt: skip


def test_risk_run_and_incident_keys() -> None:
    """`risk-run --json` and `incident open --json` keep their keys."""
    run = RiskRunResult(
        "prod", "2026-03-02", "succeeded", "rel-1", (RiskRunAttempt("rel-1", 0, 1.2),)
    )
    assert run.as_dict() == {
        "env": "prod",
        "date": "2026-03-02",
        "outcome": "succeeded",
        "producer": "rel-1",
        "attempts": [{"release": "rel-1", "exit_code": 0, "seconds": 1.2}],
    }
    assert OpenedIncident("INC-3", "prod", "slow").as_dict() == {
        "id": "INC-3",
        "env": "prod",
        "summary": "slow",
    }


def test_manifests_show_either_the_manifests_or_the_files() -> None:
    """Printed: `manifests` and no `files`; written: `files` and no `manifests`; never the YAML."""
    printed = Manifests(
        "prod", "ns", "img", None, None, ("Rollout",), ({"kind": "Rollout"},), None, "---"
    )
    written = dataclasses.replace(printed, manifests=None, files=("d/00-rollout.yaml",), yaml="")
    assert set(printed.as_dict()) == {
        "env",
        "namespace",
        "image",
        "release",
        "validated",
        "kinds",
        "manifests",
    }
    assert set(written.as_dict()) == {
        "env",
        "namespace",
        "image",
        "release",
        "validated",
        "kinds",
        "files",
    }


def test_plain_leaves_other_values_alone() -> None:
    """`plain` converts results and tuples only; strings, numbers and None are unchanged."""
    assert plain(("a", 1, None)) == ["a", 1, None]
    assert plain({"k": ReviewResult("r", "d", "x")}) == {
        "k": {"release": "r", "digest": "d", "reviewer": "x"}
    }
    assert plain("text") == "text"
