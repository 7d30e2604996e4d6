"""The policy engine as pure functions: literal policy, facts, clock and calendar in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from riskctl.clock import FixedCalendar
from riskctl.config import DeliveryConfig, load_config
from riskctl.model import Approval, ChangeClass, GateRecord, GateStatus, Release, Review, Role
from riskctl.policy import (
    DeployFacts,
    DeployRequest,
    evaluate_approval,
    evaluate_deploy,
    evaluate_model_change_approval,
    evaluate_review,
    may_converge,
    operation_refusal,
    promote_window_refusal,
)
from tests.riskctl.fixture_project import policy

GATES = ("lint", "unit", "security", "dependency-audit")
# 2026-03-02 is a Monday in EST (UTC-5); 2026-03-09 is the Monday after DST started (EDT, UTC-4).
CAL = FixedCalendar.of([date(2026, 1, 19)])  # MLK day: not a session


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> DeliveryConfig:
    """The fixture policy, loaded and validated."""
    path: Path = tmp_path_factory.mktemp("policy") / "delivery.toml"
    ports = {f"{e}{s}": 18000 + 3 * i + j for i, e in enumerate(("dev", "staging", "prod"))
             for j, s in enumerate(("", "-blue", "-green"))}  # fmt: skip
    path.write_text(policy(ports), encoding="utf-8")
    return load_config(path).config


def release(change: ChangeClass = ChangeClass.STANDARD) -> Release:
    return Release(
        id="rel-abc",
        digest="sha256:abc",
        commit="c0ffee",
        author="eng-1",
        author_email="eng-1@example.com",
        version="1.0.0",
        built_at=datetime(2026, 3, 2, tzinfo=UTC),
        change_class=change,
        calculation_files=("src/fixture_svc/engine.py",) if change == "calculation" else (),
    )


def approval(actor: str, roles: tuple[Role, ...], env: str, *, bg: bool = False) -> Approval:
    return Approval(
        actor, frozenset(roles), env, "sha256:abc", datetime(2026, 3, 2, tzinfo=UTC), bg
    )


PASSED = {g: GateRecord(g, GateStatus.PASSED, "sha256:abc") for g in GATES}
READY = DeployFacts(
    release=release(),
    author_identity="eng-1",
    gates=PASSED,
    reviews=(Review("eng-2", "sha256:abc", datetime(2026, 3, 2, tzinfo=UTC)),),
    approvals=(
        approval("qa-1", (Role.QA,), "staging"),
        approval("rm-1", (Role.RELEASE_MANAGER,), "prod"),
    ),
    deployed_envs=frozenset({"staging"}),
    previous_release="rel-old",
)
OPEN = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Mon 10:00 EST


def decide(config: DeliveryConfig, facts: DeployFacts = READY, **req: object) -> list[str]:
    request = DeployRequest(
        env=str(req.pop("env", "prod")),
        actor=str(req.pop("actor", "sre-1")),
        now=req.pop("now", OPEN),  # type: ignore[arg-type]
        **req,  # type: ignore[arg-type]
    )
    return list(evaluate_deploy(config, CAL, request, facts).missing)


def replace_facts(**changes: object) -> DeployFacts:
    return replace(READY, **changes)  # type: ignore[arg-type]


def test_prod_deploy_with_everything_in_place_is_allowed(config: DeliveryConfig) -> None:
    """A gated, reviewed, staged, QA-signed, release-approved prod deploy in the window passes."""
    assert decide(config) == []


def test_wrong_role_is_refused(config: DeliveryConfig) -> None:
    """An engineer may not deploy to prod; the message names the roles needed."""
    missing = decide(config, actor="eng-2")
    assert any("role not allowed" in m and "sre" in m for m in missing)


def test_unknown_identity_is_refused(config: DeliveryConfig) -> None:
    """An identity absent from delivery.toml holds no role."""
    assert any("unknown identity" in m for m in decide(config, actor="mallory"))


def test_missing_gate_is_refused(config: DeliveryConfig) -> None:
    """A required gate that never ran for this digest blocks the deploy."""
    gates = {k: v for k, v in PASSED.items() if k != "unit"}
    missing = decide(config, replace_facts(gates=gates))
    assert missing == ["gate unit has not run for sha256:abc"]


def test_failed_gate_is_refused(config: DeliveryConfig) -> None:
    """A failed gate blocks the deploy."""
    gates = {**PASSED, "lint": GateRecord("lint", GateStatus.FAILED, "sha256:abc")}
    assert decide(config, replace_facts(gates=gates)) == ["gate lint failed for sha256:abc"]


def test_unavailable_gate_counts_only_when_policy_tolerates_it(config: DeliveryConfig) -> None:
    """dependency-audit unavailable is tolerated by policy; an unavailable lint is not."""
    audit = {
        **PASSED,
        "dependency-audit": GateRecord("dependency-audit", GateStatus.UNAVAILABLE, "x"),
    }
    assert decide(config, replace_facts(gates=audit)) == []
    lint = {**PASSED, "lint": GateRecord("lint", GateStatus.UNAVAILABLE, "x")}
    assert decide(config, replace_facts(gates=lint)) == ["gate lint unavailable for sha256:abc"]


def test_no_qa_approval_is_refused(config: DeliveryConfig) -> None:
    """Prod needs a QA sign-off recorded for staging."""
    facts = replace_facts(approvals=(approval("rm-1", (Role.RELEASE_MANAGER,), "prod"),))
    missing = decide(config, facts)
    assert len(missing) == 1
    assert missing[0].startswith("missing qa-signoff")


def test_author_approval_does_not_count(config: DeliveryConfig) -> None:
    """An approval by the commit author never satisfies a rule."""
    facts = replace_facts(
        approvals=(
            approval("qa-1", (Role.QA,), "staging"),
            approval("eng-1", (Role.RELEASE_MANAGER,), "prod"),
        )
    )
    assert decide(config, facts)[0].startswith("missing release-approval")


def test_deployer_who_approved_is_refused(config: DeliveryConfig) -> None:
    """Release approver and deployer must differ."""
    facts = replace_facts(
        approvals=(*READY.approvals, approval("sre-2", (Role.SRE, Role.RELEASE_MANAGER), "prod"))
    )
    missing = decide(config, facts, actor="sre-2")
    assert missing == ["sre-2 approved this release for prod and cannot also deploy it"]


def test_author_cannot_deploy_to_prod(config: DeliveryConfig) -> None:
    """The commit author cannot be the prod deployer."""
    facts = replace_facts(release=release(), author_identity="sre-1")
    assert "sre-1 is the commit author and cannot deploy" in decide(config, facts)


def test_staging_must_be_deployed_before_prod(config: DeliveryConfig) -> None:
    """Nothing reaches prod without having been deployed to staging."""
    assert decide(config, replace_facts(deployed_envs=frozenset())) == [
        "not yet deployed to staging"
    ]


def test_review_by_someone_else_is_required(config: DeliveryConfig) -> None:
    """A self-review does not count."""
    facts = replace_facts(reviews=(Review("eng-1", "sha256:abc", OPEN),))
    assert decide(config, facts) == ["missing a code review by someone other than the author"]


def test_first_prod_deploy_needs_a_rollback_plan(config: DeliveryConfig) -> None:
    """With nothing in prod, a rollback plan must be given."""
    facts = replace_facts(previous_release=None)
    assert decide(config, facts)[0].startswith("no rollback plan")
    assert decide(config, facts, rollback_plan="stop the service") == []


@pytest.mark.parametrize(
    ("instant", "why"),
    [
        (datetime(2026, 3, 2, 11, 0, tzinfo=UTC), "freeze"),  # Mon 06:00 EST
        (datetime(2026, 3, 9, 10, 30, tzinfo=UTC), "freeze"),  # Mon 06:30 EDT (after DST)
        (datetime(2026, 3, 9, 8, 0, tzinfo=UTC), "freeze"),  # Mon 04:00 EDT, first minute
        (datetime(2026, 3, 2, 9, 30, tzinfo=UTC), "freeze"),  # Mon 04:30 EST
        (datetime(2026, 3, 7, 16, 0, tzinfo=UTC), "window"),  # Saturday 11:00 EST
        (datetime(2026, 3, 3, 2, 0, tzinfo=UTC), "window"),  # Mon 21:00 EST
    ],
)
def test_closed_window_and_freeze_are_refused(
    config: DeliveryConfig, instant: datetime, why: str
) -> None:
    """Outside the windows or inside the 04:00-07:00 New York freeze (either side of DST)."""
    missing = decide(config, now=instant)
    word = "risk-run freeze" if why == "freeze" else "outside the change window"
    assert any(word in m for m in missing), missing


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 3, 9, 11, 0, tzinfo=UTC),  # Mon 07:00 EDT: freeze just ended
        datetime(2026, 3, 2, 12, 0, tzinfo=UTC),  # Mon 07:00 EST
        datetime(2026, 3, 9, 23, 59, tzinfo=UTC),  # Mon 19:59 EDT
    ],
)
def test_open_window_after_freeze_is_allowed(config: DeliveryConfig, instant: datetime) -> None:
    """07:00 local is open on both sides of the DST change (11:00 vs 12:00 UTC)."""
    assert decide(config, now=instant) == []


def test_freeze_applies_only_on_sessions(config: DeliveryConfig) -> None:
    """On a non-session weekday (a holiday) 05:00 is not frozen, but still outside the window."""
    holiday = datetime(2026, 1, 19, 10, 0, tzinfo=UTC)  # MLK day 05:00 EST
    missing = decide(config, now=holiday)
    assert not any("freeze" in m for m in missing)
    assert any("outside the change window" in m for m in missing)


def test_break_glass_with_one_approver_is_refused(config: DeliveryConfig) -> None:
    """Break-glass needs two distinct approvers besides the deployer."""
    facts = replace_facts(
        approvals=(*READY.approvals, approval("risk-1", (Role.RISK,), "prod", bg=True))
    )
    frozen = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    missing = decide(config, facts, now=frozen, break_glass_reason="VaR run down")
    assert len(missing) == 1
    assert "break-glass needs 2 approvers" in missing[0]


def test_break_glass_needs_a_reason(config: DeliveryConfig) -> None:
    """An empty reason is refused."""
    missing = decide(config, now=OPEN, break_glass_reason=" ")
    assert "break-glass needs a reason" in missing


def test_break_glass_with_two_approvers_opens_the_freeze(config: DeliveryConfig) -> None:
    """Two break-glass approvers and a reason allow a deploy inside the freeze."""
    facts = replace_facts(
        approvals=(
            *READY.approvals,
            approval("risk-1", (Role.RISK,), "prod", bg=True),
            approval("sre-2", (Role.SRE,), "prod", bg=True),
        )
    )
    frozen = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    assert decide(config, facts, now=frozen, break_glass_reason="VaR run down") == []


def test_calculation_change_needs_risk_approval(config: DeliveryConfig) -> None:
    """A calculation change takes the full path: a prod approval by risk management."""
    facts = replace_facts(release=release(ChangeClass.CALCULATION))
    assert decide(config, facts)[0].startswith("missing risk-approval")
    approved = replace_facts(
        release=release(ChangeClass.CALCULATION),
        approvals=(*READY.approvals, approval("risk-1", (Role.RISK,), "prod")),
    )
    assert decide(config, approved) == []


def test_fast_track_refused_for_calculation_change(config: DeliveryConfig) -> None:
    """The fast track is closed to a release that touches the engine."""
    facts = replace_facts(release=release(ChangeClass.CALCULATION))
    assert any("fast track refused" in m for m in decide(config, facts, fast_track=True))


def test_fast_track_waives_qa_but_not_staging(config: DeliveryConfig) -> None:
    """A docs-only release on the fast track skips QA sign-off but still needs staging."""
    no_qa = replace_facts(approvals=(approval("rm-1", (Role.RELEASE_MANAGER,), "prod"),))
    assert decide(config, no_qa, fast_track=True) == []
    unstaged = replace_facts(approvals=no_qa.approvals, deployed_envs=frozenset())
    assert decide(config, unstaged, fast_track=True) == ["not yet deployed to staging"]


def test_dev_needs_only_an_engineer(config: DeliveryConfig) -> None:
    """Dev has no gates, approvals or windows: any engineer, any time."""
    bare = DeployFacts(release=release(), author_identity="eng-1")
    assert (
        decide(config, bare, env="dev", actor="eng-1", now=datetime(2026, 3, 7, tzinfo=UTC)) == []
    )


def test_approval_rules(config: DeliveryConfig) -> None:
    """Approvals need an accepted role and never come from the author."""
    rel = release()
    assert evaluate_approval(config, "qa-1", "staging", rel, "eng-1").allowed
    assert evaluate_approval(config, "rm-1", "prod", rel, "eng-1").allowed
    own = evaluate_approval(config, "eng-1", "staging", rel, "eng-1")
    assert "eng-1 is the commit author and cannot approve" in own.missing
    assert "role not allowed" in evaluate_approval(config, "eng-2", "prod", rel, "eng-1").message()
    assert "no policy asks" in evaluate_approval(config, "qa-1", "dev", rel, "eng-1").message()
    assert evaluate_approval(config, "sre-2", "prod", rel, "eng-1", break_glass=True).allowed


def test_review_rules(config: DeliveryConfig) -> None:
    """A reviewer role is needed and authors cannot review themselves."""
    rel = release()
    assert evaluate_review(config, "eng-2", rel, "eng-1").allowed
    assert not evaluate_review(config, "eng-1", rel, "eng-1").allowed
    assert not evaluate_review(config, "rm-1", rel, "eng-1").allowed


@pytest.mark.parametrize("what", ["promote", "abort", "rollback"])
def test_only_deployers_operate_a_rollout(config: DeliveryConfig, what: str) -> None:
    """promote, abort and rollback in prod: an sre may; an engineer, a release manager and an
    unknown name may not, and the refusal names the roles allowed."""
    assert operation_refusal(config, "sre-1", "prod", what) is None
    for outsider in ("eng-1", "rm-1", "mallory"):
        refused = operation_refusal(config, outsider, "prod", what)
        assert refused is not None
        assert refused.message == f"{outsider} may not {what} in prod (roles allowed: sre)"
        assert refused.missing == ("role: one of sre",)


def test_operations_follow_each_environments_deployers(config: DeliveryConfig) -> None:
    """An engineer may abort in staging (a deployer there) but not in prod."""
    assert operation_refusal(config, "eng-1", "staging", "abort") is None
    assert operation_refusal(config, "eng-1", "prod", "abort") is not None


def test_only_deployers_converge_on_status(config: DeliveryConfig) -> None:
    """`riskctl status` acts (converges) only for a deployer of that environment (finding 10)."""
    assert may_converge(config, "sre-1", "prod")
    assert not may_converge(config, "qa-1", "prod")
    assert may_converge(config, "qa-1", "staging")
    assert not may_converge(config, "nobody", "dev")


@pytest.mark.parametrize(
    ("instant", "refused"),
    [
        (datetime(2026, 3, 2, 15, 0, tzinfo=UTC), False),  # Mon 10:00 EST: open
        (datetime(2026, 3, 2, 3, 0, tzinfo=UTC), True),  # Sun 22:00 EST: outside the window
        (datetime(2026, 3, 7, 15, 0, tzinfo=UTC), True),  # Saturday
    ],
)
def test_promote_is_refused_outside_the_window(
    config: DeliveryConfig, instant: datetime, refused: bool
) -> None:
    """A promotion moves traffic: refused outside prod's change window, like a deploy."""
    refusal = promote_window_refusal(config, CAL, "prod", instant)
    assert (refusal is not None) is refused
    if refusal is not None:
        assert refusal.message.startswith("promote in prod refused: ")
        assert refusal.missing


def test_promote_in_dev_has_no_window(config: DeliveryConfig) -> None:
    """dev has no change window: a promotion there is never refused for the time."""
    assert promote_window_refusal(config, CAL, "dev", datetime(2026, 3, 7, 3, tzinfo=UTC)) is None


def test_model_change_approval_needs_risk_and_not_the_author(config: DeliveryConfig) -> None:
    """Only role risk accepts a model change, and never the change's author."""
    assert evaluate_model_change_approval(config, "risk-1", "eng-1").allowed
    not_risk = evaluate_model_change_approval(config, "rm-1", "eng-1")
    assert not_risk.missing == ("rm-1 lacks role risk",)
    own = evaluate_model_change_approval(config, "risk-1", "risk-1")
    assert own.missing == ("risk-1 is the author",)
