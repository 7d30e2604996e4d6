"""Operating a rollout in flight: ``riskctl promote`` (a paused rollout's next step), ``riskctl
abort`` (canary weight 0 at once) and ``riskctl rollback`` (restore an earlier release). Each
moves traffic, so only the environment's deployers may (:func:`riskctl.policy.operation_refusal`).

``abort`` is on the path an operator takes when something is wrong: this module imports only
what it needs (``rollback``'s request building is imported inside it; issue 11, item 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskctl.audit.actions import refused_action
from riskctl.errors import DeployFailedError, PolicyRefusedError, UsageError
from riskctl.model import Strategy
from riskctl.policy import operation_refusal, promote_window_refusal
from riskctl.targets.interface import ControlledTarget, TargetOutcome
from riskctl.usecases._result import Result
from riskctl.usecases.context import Context

__all__ = ["ControlResult", "RollbackResult", "abort", "promote", "rollback"]


@dataclass(frozen=True)
class ControlResult(Result):
    """Where ``promote`` or ``abort`` left the rollout (``aborted`` only for an abort)."""

    env: str
    message: str
    steps: tuple[str, ...]
    phase: str | None
    analysis: Any
    aborted: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        if self.aborted is None:
            del out["aborted"]
        return out


@dataclass(frozen=True)
class RollbackResult(Result):
    """The release a rollback restored, and from which."""

    env: str
    release: str
    from_: str | None
    message: str
    steps: tuple[str, ...]


def _may_operate(ctx: Context, env_name: str, what: str) -> str:
    actor = ctx.require_actor()
    ctx.config.environment(env_name)
    ctx.trust.require_pinned(env_name)
    refused = operation_refusal(ctx.config, actor, env_name, what)
    if refused is not None:
        ctx.record(refused_action(what), env=env_name, details={"reason": refused.message})
        raise PolicyRefusedError(refused.message, refused.missing)
    return actor


def _controlled(ctx: Context) -> ControlledTarget:
    target = ctx.target_factory(ctx.home, ctx.loaded)
    if not isinstance(target, ControlledTarget):
        raise UsageError("this deploy target has no rollouts to promote or abort")
    return target


def _control_result(
    env_name: str, outcome: TargetOutcome, *, fail: bool = True, aborted: bool | None = None
) -> ControlResult:
    result = ControlResult(
        env=env_name,
        message=outcome.message,
        steps=tuple(outcome.steps),
        phase=outcome.details.get("phase"),
        analysis=outcome.details.get("verdict"),
        aborted=aborted,
    )
    if fail and not outcome.ok:
        raise DeployFailedError(outcome.message, result.as_dict())
    return result


def promote(ctx: Context, env_name: str) -> ControlResult:
    """Move the paused rollout in ``env_name`` on (inside its windows, outside the freeze)."""
    actor = _may_operate(ctx, env_name, "promote")
    refused = promote_window_refusal(ctx.config, ctx.calendar, env_name, ctx.clock.now())
    if refused is not None:
        ctx.record("promote.refused", env=env_name, details={"reason": refused.message})
        raise PolicyRefusedError(refused.message, refused.missing)
    ctx.record("rollout.promoted", env=env_name, details={"by": actor})
    outcome = _controlled(ctx).promote(env_name, actor, ctx.sink(env_name))
    return _control_result(env_name, outcome)


def abort(ctx: Context, env_name: str, reason: str) -> ControlResult:
    """Abort the rollout in ``env_name``: canary weight 0 at once, stable keeps serving."""
    actor = _may_operate(ctx, env_name, "abort")
    ctx.record("rollout.abort_requested", env=env_name, details={"reason": reason})
    outcome = _controlled(ctx).abort(env_name, reason, actor, ctx.sink(env_name))
    return _control_result(env_name, outcome, fail=False, aborted=True)


def rollback(ctx: Context, env_name: str, to: str | None) -> RollbackResult:
    """Restore the previous (or named) release in ``env_name``; refused past an irreversible
    migration."""
    from riskctl.usecases.deploys import target_request  # noqa: PLC0415 - not on abort's path

    actor = _may_operate(ctx, env_name, "rollback")
    ledger = ctx.ledger()
    current = ledger.current.get(env_name)
    if to is None:
        chain = [r for r in ledger.lineage.get(env_name, []) if r != current]
        if not chain:
            raise UsageError(f"nothing to roll back to in {env_name}: no earlier release")
        target_release = ledger.releases[chain[-1]]
    else:
        target_release = ledger.release(to)
    if target_release.id == current:
        raise UsageError(f"{target_release.id} already serves {env_name}")
    if target_release.id not in ledger.lineage.get(env_name, []):
        raise UsageError(f"{target_release.id} never served {env_name}; deploy it instead")
    blocker = ledger.unsafe_rollback(env_name, target_release.id)
    if blocker is not None:
        message = (
            f"rollback of {env_name} to {target_release.id} refused: {blocker.id} declared "
            f"an irreversible migration ({blocker.irreversible_reason}); roll forward instead"
        )
        ctx.record(
            "rollback.refused",
            release=target_release.digest,
            env=env_name,
            details={"release": target_release.id, "blocked_by": blocker.id, "reason": message},
        )
        raise PolicyRefusedError(message, (f"reversible releases after {target_release.id}",))
    ctx.record(
        "rollback.started",
        release=target_release.digest,
        env=env_name,
        details={"release": target_release.id, "from": current, "by": actor},
    )
    target = ctx.target_factory(ctx.home, ctx.loaded)
    previous = ledger.releases.get(current) if current else None
    outcome = target.deploy(
        target_request(
            ctx, env_name, target_release, Strategy.RECREATE, previous=previous, rollback=True
        )
    )
    if outcome.ok and not outcome.recorded:
        ctx.record(
            "rollback.performed",
            release=target_release.digest,
            env=env_name,
            details={"release": target_release.id, "reason": "requested"},
        )
    if not outcome.ok:
        raise DeployFailedError(f"rollback failed: {outcome.message}")
    return RollbackResult(
        env=env_name,
        release=target_release.id,
        from_=current,
        message=outcome.message,
        steps=tuple(outcome.steps),
    )
