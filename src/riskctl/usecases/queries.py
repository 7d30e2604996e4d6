"""Reading what the trail and the environments say: ``riskctl status``, ``history``, ``audit
verify`` and ``dora``. Only ``status`` may act: for a proven deployer it lets the controller
converge an environment left mid-rollout (finding 10); everyone else gets a read-only look."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskctl.audit.actions import Action
from riskctl.errors import RiskctlError
from riskctl.policy import may_converge
from riskctl.usecases._result import Result
from riskctl.usecases.context import Context

if TYPE_CHECKING:
    from riskctl.audit.log import VerifyReport
    from riskctl.dora import DoraReport

__all__ = [
    "EnvStatus",
    "HistoryEvent",
    "HistoryRelease",
    "HistoryResult",
    "LastDeploy",
    "StatusResult",
    "dora",
    "history",
    "status",
    "verify",
]

#: The audit actions ``riskctl history`` shows (the rest are details of these).
HISTORY_ACTIONS: frozenset[Action] = frozenset(
    {
        Action.RELEASE_BUILT,
        Action.GATES_COMPLETED,
        Action.REVIEW_RECORDED,
        Action.APPROVAL_RECORDED,
        Action.DEPLOY_CHECKED,
        Action.DEPLOY_SUCCEEDED,
        Action.DEPLOY_FAILED,
        Action.ROLLBACK_PERFORMED,
        Action.DEPLOY_REFUSED,
        Action.APPROVAL_REFUSED,
        Action.REVIEW_REFUSED,
        Action.BUILD_REFUSED,
        Action.ROLLBACK_REFUSED,
        Action.MODEL_CHANGE_APPROVED,
        Action.ROLLOUT_PAUSED,
        Action.ROLLOUT_PROMOTED,
        Action.ROLLOUT_ABORT_REQUESTED,
        Action.ANALYSIS_VERDICT,
        Action.SHADOW_COMPARED,
        Action.RISK_RUN,
        Action.RISK_RUN_FELL_BACK,
        Action.RISK_RUN_FAILED,
        Action.NOTIFICATION_SENT,
        Action.NOTIFICATION_FAILED,
        Action.EXEC,
        Action.INCIDENT_OPENED,
        Action.INCIDENT_RESOLVED,
        Action.POLICY_PINNED,
        Action.EXEC_REFUSED,
        Action.RISK_RUN_REFUSED,
        Action.PROMOTE_REFUSED,
    }
)


@dataclass(frozen=True)
class LastDeploy(Result):
    """The latest deploy the trail records for an environment."""

    release: str
    ok: bool
    at: str
    actor: str


@dataclass(frozen=True)
class EnvStatus(Result):
    """What runs in one environment; ``extra`` holds what the target adds (slots, analysis,
    shadow, controller, warm colour), spread into the JSON object."""

    url: str
    stable_release: str | None
    stable_digest: str | None
    canary_release: str | None
    canary_weight: int
    phase: str
    health: str
    strategy: str
    last_deploy: LastDeploy | None
    extra: Mapping[str, Any] = field(default_factory=dict, metadata={"merge": True})


@dataclass(frozen=True)
class StatusResult(Result):
    """Every (or one) environment's status, in policy order."""

    environments: Mapping[str, EnvStatus]


@dataclass(frozen=True)
class HistoryEvent(Result):
    """One pipeline event from the trail."""

    seq: int
    time: str
    actor: str
    action: str
    env: str | None
    release: str | None
    digest: str | None


@dataclass(frozen=True)
class HistoryRelease(Result):
    """One built release and where it has been deployed."""

    release: str
    digest: str
    commit: str
    author: str
    version: str
    built_at: str
    change_class: str
    dirty: bool
    environments: tuple[str, ...]


@dataclass(frozen=True)
class HistoryResult(Result):
    """Releases (oldest first) and pipeline events (the last ``limit``)."""

    releases: tuple[HistoryRelease, ...]
    events: tuple[HistoryEvent, ...]


def status(ctx: Context, env_filter: str | None = None) -> StatusResult:
    """What runs where, and its health (converging for a proven deployer)."""
    ledger = ctx.ledger()
    names = [env_filter] if env_filter else list(ctx.config.environments)
    for name in names:
        ctx.config.environment(name)
    target = ctx.target_factory(ctx.home, ctx.loaded)
    envs: dict[str, EnvStatus] = {}
    for name in names:
        env = ctx.config.environment(name)
        if hasattr(target, "status_sink"):
            target.status_sink = ctx.sink(name)
        if hasattr(target, "status_converges"):
            # Converging records and acts: only for a proven deployer of the environment
            # (finding 10); anyone else gets a read-only look.
            target.status_converges = _may_converge(ctx, name)
        instance = target.status(name, env.port)
        extra = dict(instance.details)
        stable = extra.pop("stable_release", None) or ledger.current.get(name)
        if "phase" in extra:
            phase = extra.pop("phase")
        elif stable is None:
            phase = "Idle"
        else:
            phase = "Healthy" if instance.healthy else "Degraded"
        last = next((d for d in reversed(ledger.deployments) if d.env == name), None)
        envs[name] = EnvStatus(
            url=env.url,
            stable_release=stable,
            stable_digest=ledger.releases[stable].digest if stable in ledger.releases else None,
            canary_release=extra.pop("canary_release", None),
            canary_weight=extra.pop("canary_weight", 0),
            phase=phase,
            health=instance.state if instance.healthy is None else (
                "up" if instance.healthy else "down"
            ),
            strategy=str(env.strategy),
            last_deploy=None if last is None else LastDeploy(
                last.release, last.ok, last.at.isoformat(), last.actor
            ),
            extra=extra,
        )  # fmt: skip
    return StatusResult(envs)


def _may_converge(ctx: Context, env_name: str) -> bool:
    if not ctx.actor:
        return False
    try:
        name = ctx.require_actor()
        ctx.trust.require_pinned(env_name)
    except RiskctlError:
        return False
    return may_converge(ctx.config, name, env_name)


def history(ctx: Context, limit: int | None = None) -> HistoryResult:
    """Releases, gates, reviews, approvals, deploys, refusals and rollbacks."""
    ledger = ctx.ledger()
    events = [
        HistoryEvent(
            seq=e["seq"],
            time=e["time"],
            actor=e["actor"],
            action=e["action"],
            env=e.get("env"),
            release=(e.get("details") or {}).get("release"),
            digest=e.get("release"),
        )
        for e in ledger.events
        if e.get("action") in HISTORY_ACTIONS
    ]
    if limit:
        events = events[-limit:]
    releases = tuple(
        HistoryRelease(
            release=r.id,
            digest=r.digest,
            commit=r.commit,
            author=r.author,
            version=r.version,
            built_at=r.built_at.isoformat(),
            change_class=str(r.change_class),
            dirty=r.dirty,
            environments=tuple(sorted(ledger.deployed_envs(r.digest))),
        )
        for r in ledger.releases.values()
    )
    return HistoryResult(releases, tuple(events))


def verify(ctx: Context) -> VerifyReport:
    """Every entry, the Merkle tree, checkpoint signatures, consistency, and the anchors."""
    from riskctl.audit import anchors as audit_anchors  # noqa: PLC0415

    pins = audit_anchors.anchors_from_policy(ctx.trust.identities.audit)
    return audit_anchors.verify_anchors(ctx.audit, pins, ctx.audit.verify())


def dora(ctx: Context, env_name: str, days: float) -> DoraReport:
    """DORA metrics of ``env_name`` over the last ``days`` (from the verified trail)."""
    from riskctl.dora import dora_report  # noqa: PLC0415

    ctx.config.environment(env_name)  # validates the name
    return dora_report(ctx.audit.bodies(), env_name, until=ctx.clock.now(), days=days)
