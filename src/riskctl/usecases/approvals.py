"""Signing off a release: ``riskctl review`` and ``riskctl approve`` (also break-glass and a
declared model change, which the model-change judge backtests first). Each is a signed statement
recorded only when :mod:`riskctl.policy` allows it; a refusal is recorded too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskctl.errors import UsageError
from riskctl.ledger import author_identity
from riskctl.model import Release
from riskctl.policy import (
    Decision,
    evaluate_approval,
    evaluate_model_change_approval,
    evaluate_review,
)
from riskctl.trust.statements import Kind
from riskctl.usecases._result import Result
from riskctl.usecases.context import Context

__all__ = [
    "ApprovalResult",
    "ModelChangeApprovalResult",
    "ReviewResult",
    "approve",
    "review",
]


@dataclass(frozen=True)
class ReviewResult(Result):
    """A recorded code review."""

    release: str
    digest: str
    reviewer: str


@dataclass(frozen=True)
class ApprovalResult(Result):
    """A recorded approval (or break-glass approval) for one environment."""

    release: str
    digest: str
    env: str
    approver: str
    roles: tuple[str, ...]
    break_glass: bool


@dataclass(frozen=True)
class ModelChangeApprovalResult(Result):
    """Risk management's acceptance of a release's declared model change, with the judgement."""

    release: str
    digest: str
    env: str
    approver: str
    roles: tuple[str, ...]
    model_change: Mapping[str, Any]
    judgement: Mapping[str, Any] | None


def review(ctx: Context, ref: str) -> ReviewResult:
    """Record the acting identity's review of ``ref`` (a reviewer role, not the author)."""
    actor = ctx.require_actor()
    ctx.trust.require_pinned(None)
    release = ctx.ledger().release(ref)
    author = author_identity(ctx.config, release)
    decision = evaluate_review(ctx.config, actor, release, author)
    if not decision.allowed:
        ctx.refuse("review.refused", decision, release, None)
    ctx.record(
        "review.recorded",
        release=release.digest,
        details={"release": release.id, **ctx.sign(Kind.REVIEW, release.digest, None)},
    )
    return ReviewResult(release.id, release.digest, actor)


def approve(
    ctx: Context,
    ref: str,
    env: str,
    *,
    break_glass: bool = False,
    model_change: bool = False,
    accept_judgement: str | None = None,
) -> ApprovalResult | ModelChangeApprovalResult:
    """Record the acting identity's approval of ``ref`` for ``env``."""
    if accept_judgement is not None and (not model_change or not accept_judgement.strip()):
        raise UsageError("--accept-judgement needs --model-change and a reason")
    actor = ctx.require_actor()
    ctx.config.environment(env)  # validates the name
    ctx.trust.require_pinned(env)
    release = ctx.ledger().release(ref)
    author = author_identity(ctx.config, release)
    if model_change:
        return _approve_model_change(ctx, actor, release, env, author, accepted=accept_judgement)
    decision = evaluate_approval(ctx.config, actor, env, release, author, break_glass=break_glass)
    if not decision.allowed:
        ctx.refuse("approval.refused", decision, release, env)
    roles = tuple(sorted(str(r) for r in ctx.config.roles_of(actor)))
    ctx.record(
        "approval.recorded",
        release=release.digest,
        env=env,
        details={
            "release": release.id,
            "roles": list(roles),  # informative only: decisions re-derive roles from the policy
            "break_glass": break_glass,
            **ctx.sign(Kind.BREAK_GLASS if break_glass else Kind.APPROVAL, release.digest, env),
        },
    )
    return ApprovalResult(release.id, release.digest, env, actor, roles, break_glass)


def _approve_model_change(
    ctx: Context, actor: str, release: Release, env: str, author: str | None, *,
    accepted: str | None,
) -> ModelChangeApprovalResult:  # fmt: skip
    """Risk management accepts the release's declared model change and its impact."""
    from riskctl.shadow import modeljudge  # noqa: PLC0415 - numpy and backtests, on demand

    if release.model_change_impact is None:
        raise UsageError(
            f"{release.id} declares no model change (add [model_change] to "
            f"{ctx.config.declarations_file} and rebuild)"
        )
    decision = evaluate_model_change_approval(ctx.config, actor, author)
    if not decision.allowed:
        ctx.refuse("approval.refused", decision, release, env)
    judgement = modeljudge.evaluate(ctx, release, env)  # both models backtested (issue 12)
    judged = Decision("model change approval", (modeljudge.approval_check(judgement, accepted),))
    if not judged.allowed:
        ctx.refuse("approval.refused", judged, release, env)
    judge = {"verdict": judgement.verdict, "accepted": accepted} if judgement else None
    ctx.record(
        "model_change.approved",
        release=release.digest,
        env=env,
        details={
            "release": release.id,
            "expected_impact": release.model_change_impact,
            "reason": release.model_change_reason,
            **ctx.sign(Kind.MODEL_CHANGE, release.digest, env),
            "judge": judge,
        },
    )
    return ModelChangeApprovalResult(
        release=release.id,
        digest=release.digest,
        env=env,
        approver=actor,
        roles=tuple(sorted(str(r) for r in ctx.config.roles_of(actor))),
        model_change={
            "expected_impact": release.model_change_impact,
            "reason": release.model_change_reason,
        },
        judgement=judgement.as_dict() if judgement else None,
    )
