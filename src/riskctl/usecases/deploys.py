"""``riskctl deploy``: the policy decides on verified facts, the release files are re-hashed, the
deploy request is signed, then the target rolls the release out (or ``--via`` a command does);
``--check`` stops after the decision (a preflight). Also the request every target receives."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from riskctl.errors import DeployFailedError, PolicyRefusedError, UsageError
from riskctl.model import Release, Role, Strategy
from riskctl.notify import Event, Notification
from riskctl.policy import DeployRequest, evaluate_deploy
from riskctl.targets.interface import DeployTarget, TargetOutcome, TargetRequest
from riskctl.targets.verify import ReleaseTamperedError, verify_release_files
from riskctl.trust.facts import statement_counts, trusted_facts
from riskctl.trust.statements import Kind
from riskctl.usecases._result import Result
from riskctl.usecases.context import Context

__all__ = [
    "DeployCheckResult",
    "DeployResult",
    "deploy",
    "service_variables",
    "target_request",
]


@dataclass(frozen=True)
class DeployCheckResult(Result):
    """``deploy --check``: the decision, recorded as ``deploy.checked``; nothing deployed."""

    release: str
    strategy: str
    action: str
    allowed: bool
    checks: tuple[Mapping[str, Any], ...]
    statement: str
    env: str
    digest: str


@dataclass(frozen=True)
class DeployResult(Result):
    """Where a deploy ended: Healthy, Paused (waiting for ``promote``), or failed and restored
    (then raised as :class:`DeployFailedError` with these fields as its results)."""

    release: str
    digest: str
    env: str
    strategy: str
    steps: tuple[str, ...]
    url: str
    message: str
    phase: str
    analysis: Any
    shadow: Any


def deploy(
    ctx: Context,
    ref: str,
    env_name: str,
    *,
    strategy: Strategy | None = None,
    fast_track: bool = False,
    break_glass_reason: str | None = None,
    rollback_plan: str | None = None,
    check_only: bool = False,
    via: Sequence[str] | None = None,
) -> DeployResult | DeployCheckResult:
    """Deploy ``ref`` to ``env_name`` through its policy.

    ``check_only`` stops after the policy (recorded as ``deploy.checked``: a preflight);
    ``via`` has a command do the deploy instead of this host's target
    (:mod:`riskctl.targets.command`), e.g. rendered manifests applied to a cluster.
    """
    if check_only and via:
        raise UsageError("--check and --via exclude each other: check first, then deploy")
    actor = ctx.require_actor()
    env = ctx.config.environment(env_name)
    ctx.trust.require_pinned(env_name)
    ledger = ctx.ledger()
    release = ledger.release(ref)
    chosen = strategy or env.strategy
    target = _target(ctx, via)
    if not check_only and chosen in env.allowed_strategies and chosen not in target.strategies:
        supported = ", ".join(sorted(str(s) for s in target.strategies))
        raise UsageError(
            f"strategy {chosen} is not available on this target (available: {supported}); "
            f"pass --strategy {sorted(target.strategies)[0]}"
        )
    request = DeployRequest(
        env=env_name, actor=actor, now=ctx.clock.now(), fast_track=fast_track,
        break_glass_reason=break_glass_reason, rollback_plan=rollback_plan, strategy=chosen,
        via=via is not None,
    )  # fmt: skip
    # Only reviews, approvals and gate results that verify against this policy count.
    facts = trusted_facts(ctx.config, ledger.facts(release, env_name, ctx.config)).facts
    decision = evaluate_deploy(ctx.config, ctx.calendar, request, facts)
    if not decision.allowed:
        ctx.refuse("deploy.refused", decision, release, env_name)
    try:  # finding 7: the files must still be the audited release
        verify_release_files(ctx.home / "releases" / release.id, release.wheel, release.digest)
    except ReleaseTamperedError as exc:
        why = {"release": release.id, "allowed": False, "missing": [str(exc)]}
        ctx.record("deploy.refused", release=release.digest, env=env_name, details=why)
        raise PolicyRefusedError(str(exc), (str(exc),)) from None
    signed = ctx.sign(
        Kind.DEPLOY_REQUEST, release.digest, env_name, strategy=str(chosen),
        via=shlex.join(via) if via else None, check=check_only,
    )  # fmt: skip
    if check_only:
        judged = decision.as_dict()
        details = {"release": release.id, "strategy": str(chosen), **judged, **signed}
        ctx.record("deploy.checked", release=release.digest, env=env_name, details=details)
        return DeployCheckResult(
            release=release.id, strategy=str(chosen), action=decision.action,
            allowed=decision.allowed,
            checks=tuple(cast("list[Mapping[str, Any]]", judged["checks"])),
            statement=signed["statement"], env=env_name, digest=release.digest,
        )  # fmt: skip
    previous_id = ledger.current.get(env_name)
    previous = ledger.releases.get(previous_id) if previous_id else None
    ctx.record(
        "deploy.started",
        release=release.digest,
        env=env_name,
        details={
            "release": release.id,
            "strategy": str(chosen),
            "previous": previous_id,
            "fast_track": fast_track,
            "break_glass_reason": break_glass_reason,
            "rollback_plan": rollback_plan or (f"restore {previous_id}" if previous_id else None),
            **({"via": shlex.join(via)} if via else {}),
            **decision.as_dict(),
            **signed,
        },
    )
    weights = ctx.config.change_classes.fast_track.canary_steps if fast_track else env.canary_steps
    outcome = target.deploy(
        target_request(ctx, env_name, release, chosen, previous=previous,
                       canary_weights=tuple(weights))
    )  # fmt: skip
    return _finish(ctx, env_name, release, chosen, outcome, previous=previous)


def _target(ctx: Context, via: Sequence[str] | None) -> DeployTarget:
    if via:
        from riskctl.targets.command import CommandTarget  # noqa: PLC0415

        return CommandTarget(via)
    return ctx.target_factory(ctx.home, ctx.loaded)


def target_request(
    ctx: Context,
    env_name: str,
    release: Release,
    strategy: Strategy,
    *,
    previous: Release | None = None,
    canary_weights: tuple[int, ...] = (),
    rollback: bool = False,
) -> TargetRequest:
    """What a deploy target needs to roll ``release`` out in ``env_name``."""
    env = ctx.config.environment(env_name)
    state = ctx.home / "envs" / env_name
    state.mkdir(parents=True, exist_ok=True)
    ledger = ctx.ledger()
    accepted = [
        a
        for a in ledger.model_change_signed.get(release.digest, ())
        if Role.RISK in ctx.config.roles_of(a.actor)
        and statement_counts(
            ctx.config, Kind.MODEL_CHANGE, actor=a.actor, subject=a.digest, env=a.env,
            statement=a.statement,
        ) is None
    ]  # fmt: skip
    allowance = None
    if release.model_change_impact is not None and accepted:
        allowance = release.model_change_impact
    golden = Path(env.shadow.golden_set)
    if not golden.is_absolute():
        golden = ctx.loaded.path.parent / golden
    return TargetRequest(
        env=env_name,
        release=release,
        release_dir=ctx.home / "releases" / release.id,
        strategy=strategy,
        port=env.port,
        variables=_service_variables(env_name, release, state, env.database_url),
        previous=previous,
        previous_dir=ctx.home / "releases" / previous.id if previous else None,
        previous_variables=_service_variables(env_name, previous, state, env.database_url)
        if previous
        else {},
        spec=env,
        sink=ctx.sink(env_name),
        actor=ctx.actor or "",
        canary_weights=canary_weights,
        golden_set=golden,
        shadow_allowance=allowance,
        rollback=rollback,
    )


def _finish(
    ctx: Context,
    env_name: str,
    release: Release,
    chosen: Strategy,
    outcome: TargetOutcome,
    *,
    previous: Release | None,
) -> DeployResult:
    env = ctx.config.environment(env_name)
    details = {
        "release": release.id,
        "strategy": str(chosen),
        "steps": list(outcome.steps),
        "message": outcome.message,
        "version": dict(outcome.version),
    }
    result = DeployResult(
        release=release.id,
        digest=release.digest,
        env=env_name,
        strategy=str(chosen),
        steps=tuple(outcome.steps),
        url=env.url,
        message=outcome.message,
        phase=outcome.details.get("phase", "Healthy" if outcome.ok else "Aborted"),
        analysis=outcome.details.get("verdict"),
        shadow=outcome.details.get("shadow"),
    )
    if outcome.paused:
        ctx.record(
            "rollout.paused",
            release=release.digest,
            env=env_name,
            details={**details, "reason": outcome.message},
        )
        ctx.notify(Notification(Event.ANALYSIS_INCONCLUSIVE, env_name, outcome.message, release.id))
        return result
    if outcome.ok:
        if not outcome.recorded:
            ctx.record("deploy.succeeded", release=release.digest, env=env_name, details=details)
        ctx.notify(Notification(Event.DEPLOY_SUCCEEDED, env_name, outcome.message, release.id))
        return result
    if not outcome.recorded:
        ctx.record("deploy.failed", release=release.digest, env=env_name, details=details)
        if outcome.rolled_back and previous is not None:
            ctx.record(
                "rollback.performed",
                release=previous.digest,
                env=env_name,
                details={"release": previous.id, "reason": outcome.message, "aborted": release.id},
            )
    event = Event.ROLLED_BACK if outcome.rolled_back else Event.DEPLOY_FAILED
    ctx.notify(Notification(event, env_name, outcome.message, release.id))
    shadow = outcome.details.get("shadow") or {}
    report = list(shadow.get("report", [])) if not shadow.get("passed", True) else []
    raise DeployFailedError(outcome.message, {**result.as_dict(), "report": report})


def _service_variables(
    env: str, release: Release, state: Path, database_url: str | None = None
) -> dict[str, str]:
    """The service's configuration (``RISK_SERVICE_*``, SPEC §3) for one release in ``env``."""
    return {
        "RISK_SERVICE_ENVIRONMENT": env,
        "RISK_SERVICE_ARTIFACT_DIGEST": release.digest,
        "RISK_SERVICE_GIT_SHA": release.commit,
        "RISK_SERVICE_VERSION": release.version,
        "RISK_SERVICE_DATABASE_URL": database_url or f"sqlite:///{state / 'risk.sqlite'}",
    }


def service_variables(ctx: Context, env: str, release: Release) -> dict[str, str]:
    """Hook: the variables a release's processes get in ``env`` (daily-run guard, demo)."""
    spec = ctx.config.environment(env)
    return _service_variables(env, release, ctx.home / "envs" / env, spec.database_url)
