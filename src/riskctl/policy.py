"""The policy engine: pure functions of (policy, facts, request) → decision.

Nothing here reads the clock, the calendar data, the audit store or the environment: callers pass
them in, so every rule is tested with literal inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from riskctl.clock import Calendar
from riskctl.config import ApprovalRule, DeliveryConfig, Environment
from riskctl.model import (
    Approval,
    ChangeClass,
    GateRecord,
    GateStatus,
    Release,
    Review,
    Role,
    Strategy,
)
from riskctl.windows import window_problems

__all__ = [
    "Check",
    "Decision",
    "DeployFacts",
    "DeployRequest",
    "Refusal",
    "evaluate_approval",
    "evaluate_deploy",
    "evaluate_model_change_approval",
    "evaluate_review",
    "is_author",
    "may_converge",
    "operation_refusal",
    "promote_window_refusal",
]


@dataclass(frozen=True)
class Check:
    """One rule's outcome; ``detail`` says what is missing when ``ok`` is false."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Decision:
    """The outcome of evaluating every rule that applies to an action."""

    action: str
    checks: tuple[Check, ...]

    @property
    def allowed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(c.detail for c in self.checks if not c.ok)

    def message(self) -> str:
        """One line: what was refused and everything that is missing."""
        if self.allowed:
            return f"{self.action}: allowed"
        return f"{self.action} refused: " + "; ".join(self.missing)

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "allowed": self.allowed,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


@dataclass(frozen=True)
class DeployFacts:
    """What the ledger knows about a release when a deploy is requested."""

    release: Release
    author_identity: str | None
    gates: Mapping[str, GateRecord] = field(default_factory=dict)
    reviews: tuple[Review, ...] = ()
    approvals: tuple[Approval, ...] = ()
    deployed_envs: frozenset[str] = frozenset()
    previous_release: str | None = None


@dataclass(frozen=True)
class DeployRequest:
    """Who asks to deploy where, when, and with which exceptions."""

    env: str
    actor: str
    now: datetime
    fast_track: bool = False
    break_glass_reason: str | None = None
    rollback_plan: str | None = None
    # The mechanism the deployer picked (None: the environment's own strategy) and whether a
    # command (--via) stands in for the deploy target (finding 8: the policy decides both).
    strategy: Strategy | None = None
    via: bool = False


def is_author(actor: str, release: Release, author_identity: str | None) -> bool:
    """Whether ``actor`` is the author: the identity mapped from the commit's author e-mail (or a
    dirty build's builder, :func:`riskctl.ledger.author_identity`). Git author *names* are free
    text anyone can set, so they are never matched (finding 6)."""
    del release  # authorship is resolved by the caller, from e-mail and builder
    return author_identity is not None and actor == author_identity


def _roles_text(roles: frozenset[Role] | tuple[Role, ...]) -> str:
    return ", ".join(sorted(str(r) for r in roles)) or "none"


def _role_check(config: DeliveryConfig, actor: str, allowed: tuple[Role, ...], what: str) -> Check:
    if actor not in config.identities:
        return Check("role", False, f"unknown identity {actor!r} (not in delivery.toml)")
    roles = config.roles_of(actor)
    if roles & set(allowed):
        return Check("role", True)
    return Check(
        "role",
        False,
        f"role not allowed: {actor} has roles [{_roles_text(roles)}]; "
        f"{what} needs one of [{_roles_text(allowed)}]",
    )


def _gate_checks(env: Environment, facts: DeployFacts) -> list[Check]:
    checks = []
    for gate in env.required_gates:
        record = facts.gates.get(gate)
        name = f"gate:{gate}"
        if record is None:
            checks.append(Check(name, False, f"gate {gate} has not run for {facts.release.digest}"))
        elif record.status is GateStatus.PASSED:
            checks.append(Check(name, True))
        elif record.status is GateStatus.UNAVAILABLE and gate in env.allow_unavailable:
            checks.append(Check(name, True, f"gate {gate} unavailable (tolerated by policy)"))
        else:
            checks.append(
                Check(name, False, f"gate {gate} {record.status} for {facts.release.digest}")
            )
    return checks


def _rule_applies(rule: ApprovalRule, facts: DeployFacts, fast_track: bool) -> bool:
    if rule.applies_to == "calculation" and facts.release.change_class is ChangeClass.STANDARD:
        return False
    return not (fast_track and rule.waivable_on_fast_track)


def _approval_checks(
    config: DeliveryConfig, env: Environment, facts: DeployFacts, fast_track: bool
) -> list[Check]:
    checks = []
    for rule in env.approvals:
        if not _rule_applies(rule, facts, fast_track):
            continue
        good = [
            a
            for a in facts.approvals
            if not a.break_glass
            and a.env == rule.env
            # Roles re-derived from the policy in force, never those stored with the approval.
            and config.roles_of(a.actor) & set(rule.roles)
            and not is_author(a.actor, facts.release, facts.author_identity)
        ]
        if good:
            checks.append(Check(f"approval:{rule.id}", True))
        else:
            checks.append(
                Check(
                    f"approval:{rule.id}",
                    False,
                    f"missing {rule.id}: an approval for {rule.env} by a "
                    f"[{_roles_text(rule.roles)}] who is not the author",
                )
            )
    return checks


def _separation_checks(env: Environment, req: DeployRequest, facts: DeployFacts) -> list[Check]:
    checks = []
    if env.deployer_not_author and is_author(req.actor, facts.release, facts.author_identity):
        checks.append(
            Check("separation:author", False, f"{req.actor} is the commit author and cannot deploy")
        )
    if env.deployer_not_approver:
        mine = sorted({a.env for a in facts.approvals if a.actor == req.actor and a.env == req.env})
        if mine:
            checks.append(
                Check(
                    "separation:approver",
                    False,
                    f"{req.actor} approved this release for {req.env} and cannot also deploy it",
                )
            )
    return checks


def _mechanism_checks(env: Environment, req: DeployRequest, facts: DeployFacts) -> list[Check]:
    """The deployer does not pick how a deploy happens: the environment's policy does."""
    checks = []
    chosen = req.strategy or env.strategy
    allowed = env.allowed_strategies
    if chosen not in allowed:
        listed = ", ".join(str(s) for s in allowed)
        checks.append(
            Check("strategy", False, f"strategy {chosen} is not allowed in {req.env} ({listed})")
        )
    if req.via and not env.allow_via:
        checks.append(
            Check("via", False, f"--via is not allowed in {req.env}: its policy sets allow_via")
        )
    if facts.release.dirty and not env.experimental:
        checks.append(
            Check(
                "clean",
                False,
                f"{facts.release.id} was built from a dirty tree (--allow-dirty): only "
                "experimental environments (dev) take dirty releases",
            )
        )
    if (env.review_required or env.deployer_not_author) and facts.author_identity is None:
        checks.append(
            Check(
                "author",
                False,
                f"the commit author's e-mail {facts.release.author_email!r} is no identity's in "
                "the policy, so independence from the author cannot be shown",
            )
        )
    return checks


def _break_glass_checks(
    config: DeliveryConfig, env: Environment, req: DeployRequest, facts: DeployFacts
) -> list[Check]:
    rules = env.break_glass
    if rules is None or not rules.allowed:
        return [Check("break-glass", False, f"break-glass is not allowed for {req.env}")]
    checks = []
    if not (req.break_glass_reason or "").strip():
        checks.append(Check("break-glass:reason", False, "break-glass needs a reason"))
    approvers = sorted(
        {
            a.actor
            for a in facts.approvals
            if a.break_glass
            and a.env == req.env
            and config.roles_of(a.actor) & set(rules.roles)
            and a.actor != req.actor
            and not is_author(a.actor, facts.release, facts.author_identity)
        }
    )
    if len(approvers) < rules.approvers:
        have = ", ".join(approvers) or "none"
        checks.append(
            Check(
                "break-glass:approvers",
                False,
                f"break-glass needs {rules.approvers} approvers other than the deployer and "
                f"author (have {len(approvers)}: {have})",
            )
        )
    return checks or [Check("break-glass", True, f"break-glass by {', '.join(approvers)}")]


def evaluate_deploy(
    config: DeliveryConfig, calendar: Calendar, req: DeployRequest, facts: DeployFacts
) -> Decision:
    """Every policy rule for deploying ``facts.release`` to ``req.env`` (SPEC §4)."""
    env = config.environment(req.env)
    action = f"deploy {facts.release.id} to {req.env}"
    checks = [_role_check(config, req.actor, env.deployers, f"deploying to {req.env}")]
    checks.extend(_mechanism_checks(env, req, facts))
    if req.fast_track:
        if not config.change_classes.fast_track.enabled:
            checks.append(Check("fast-track", False, "the fast track is disabled in delivery.toml"))
        elif facts.release.change_class is ChangeClass.CALCULATION:
            touched = ", ".join(facts.release.calculation_files[:5]) or "unknown base"
            checks.append(
                Check(
                    "fast-track",
                    False,
                    "fast track refused: the release changes calculation code or inputs "
                    f"({touched}) and must take the full path",
                )
            )
    checks.extend(_gate_checks(env, facts))
    if env.review_required:
        reviewers = [
            r for r in facts.reviews if not is_author(r.actor, facts.release, facts.author_identity)
        ]
        checks.append(
            Check("review", True)
            if reviewers
            else Check("review", False, "missing a code review by someone other than the author")
        )
    for other in env.requires_deployed:
        checks.append(
            Check(f"deployed:{other}", True)
            if other in facts.deployed_envs
            else Check(f"deployed:{other}", False, f"not yet deployed to {other}")
        )
    checks.extend(_approval_checks(config, env, facts, req.fast_track))
    checks.extend(_separation_checks(env, req, facts))
    if env.rollback_plan_required and not (facts.previous_release or req.rollback_plan):
        checks.append(
            Check(
                "rollback-plan",
                False,
                f"no rollback plan: nothing runs in {req.env} yet, pass --rollback-plan TEXT",
            )
        )
    problems = window_problems(req.now, env, config.freeze, config.calendar.timezone, calendar)
    if req.break_glass_reason is not None:
        checks.extend(_break_glass_checks(config, env, req, facts))
    else:
        checks.extend(Check("window", False, p) for p in problems)
    if not problems:
        checks.append(Check("window", True))
    return Decision(action, tuple(checks))


def evaluate_review(
    config: DeliveryConfig, actor: str, release: Release, author_identity: str | None
) -> Decision:
    """A review must come from a reviewer role and not from the commit author."""
    checks = [_role_check(config, actor, config.review_roles, "reviewing")]
    if is_author(actor, release, author_identity):
        checks.append(Check("separation:author", False, f"{actor} cannot review their own change"))
    return Decision(f"review {release.id}", tuple(checks))


def evaluate_approval(
    config: DeliveryConfig,
    actor: str,
    env_name: str,
    release: Release,
    author_identity: str | None,
    *,
    break_glass: bool = False,
) -> Decision:
    """An approval must come from a role some rule accepts, and never from the author."""
    config.environment(env_name)
    if break_glass:
        roles: set[Role] = set()
        for env in config.environments.values():
            if env.break_glass and env.break_glass.allowed:
                roles.update(env.break_glass.roles)
        what = f"a break-glass approval for {env_name}"
    else:
        roles = {
            role
            for env in config.environments.values()
            for rule in env.approvals
            if rule.env == env_name
            for role in rule.roles
        }
        what = f"approving for {env_name}"
    checks = []
    if not roles:
        checks.append(Check("role", False, f"no policy asks for approvals for {env_name}"))
    else:
        checks.append(_role_check(config, actor, tuple(sorted(roles)), what))
    if is_author(actor, release, author_identity):
        checks.append(
            Check("separation:author", False, f"{actor} is the commit author and cannot approve")
        )
    return Decision(f"approve {release.id} for {env_name}", tuple(checks))


def evaluate_model_change_approval(
    config: DeliveryConfig, actor: str, author_identity: str | None
) -> Decision:
    """Risk management (role ``risk``), never the author, accepts a declared model change."""
    return Decision(
        "model change approval",
        (
            Check("role", Role.RISK in config.roles_of(actor), f"{actor} lacks role risk"),
            Check("not-author", actor != author_identity, f"{actor} is the author"),
        ),
    )


@dataclass(frozen=True)
class Refusal:
    """Why an operation on a running environment is refused: one line and each unmet need."""

    message: str
    missing: tuple[str, ...]


def operation_refusal(
    config: DeliveryConfig, actor: str, env_name: str, what: str
) -> Refusal | None:
    """``promote``, ``abort`` and ``rollback`` move traffic: only the environment's deployers."""
    env = config.environment(env_name)
    if config.roles_of(actor) & set(env.deployers):
        return None
    allowed = ", ".join(str(r) for r in env.deployers)
    return Refusal(
        f"{actor} may not {what} in {env_name} (roles allowed: {allowed})",
        (f"role: one of {allowed}",),
    )


def may_converge(config: DeliveryConfig, actor: str, env_name: str) -> bool:
    """Whether ``riskctl status`` may converge ``env_name`` (record and act) for ``actor``: a
    deployer there; anyone else gets a read-only look (finding 10)."""
    return bool(config.roles_of(actor) & set(config.environment(env_name).deployers))


def promote_window_refusal(
    config: DeliveryConfig, calendar: Calendar, env_name: str, now: datetime
) -> Refusal | None:
    """A promotion moves traffic, so it is a deploy step: refused outside the environment's
    windows and during the freeze, as the deploy itself would be (finding 10)."""
    env = config.environment(env_name)
    problems = window_problems(now, env, config.freeze, config.calendar.timezone, calendar)
    if not problems:
        return None
    return Refusal(f"promote in {env_name} refused: " + "; ".join(problems), tuple(problems))
