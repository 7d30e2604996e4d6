"""The core use cases behind each command. The CLI builds a :class:`Session` (policy, audit log,
clock, calendar, actor, deploy target) and calls these; they decide with the pure policy engine,
record everything in the audit log, and act through the injected boundaries.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from riskctl.audit import anchors as audit_anchors
from riskctl.audit.log import AuditLog, Record, VerifyReport
from riskctl.audit.postgres import PostgresAuditStore
from riskctl.audit.sqlite import SqliteAuditStore
from riskctl.audit.store import AuditStore
from riskctl.build.release import build_release, sha256_file
from riskctl.clock import (
    Calendar,
    Clock,
    ExchangeCalendar,
    FixedClock,
    SystemClock,
    parse_instant,
)
from riskctl.config import LoadedConfig, load_config, resolve_config_path
from riskctl.dora import dora_report
from riskctl.errors import (
    AuditError,
    DeployFailedError,
    GateFailedError,
    PolicyRefusedError,
    RiskctlError,
    UsageError,
)
from riskctl.gates import GateContext, GateResult, make_gate, run_gates
from riskctl.gates.workspace import counted_gates, gate_workspace, secrets_of
from riskctl.gitrepo import GitRepo
from riskctl.incidents import OPENED, RESOLVED, automatic_incident, fold_incidents, incident_id
from riskctl.ledger import Ledger, author_identity, release_to_details
from riskctl.model import GateStatus, Release, Role, Strategy
from riskctl.notify import Delivery, Event, Notification
from riskctl.notify.channels import send
from riskctl.policy import (
    Check,
    Decision,
    DeployRequest,
    evaluate_approval,
    evaluate_deploy,
    evaluate_review,
)
from riskctl.report import ArtifactCheck, Evidence, evidence
from riskctl.rollout.controller import RolloutTarget
from riskctl.shadow import modeljudge
from riskctl.signing import dsse_verify, key_id, load_or_create_key, load_public_key
from riskctl.targets.command import CommandTarget
from riskctl.targets.interface import (
    ControlledTarget,
    DeployTarget,
    EventSink,
    TargetOutcome,
    TargetRequest,
)
from riskctl.targets.verify import ReleaseTamperedError, verify_release_files
from riskctl.trust.context import TrustContext
from riskctl.trust.facts import gate_spec_digest, statement_counts, trusted_facts
from riskctl.trust.pin import PinError, read_pinned
from riskctl.trust.statements import Kind
from riskctl.windows import window_problems

__all__ = ["Session", "open_session", "service_variables"]


def resolve_actor(explicit: str | None) -> str | None:
    """``--as``, else ``RISKCTL_ACTOR``, else ``GITHUB_ACTOR`` (GitHub Actions)."""
    return explicit or os.environ.get("RISKCTL_ACTOR") or os.environ.get("GITHUB_ACTOR") or None


def _find_repo(start: Path) -> GitRepo | None:
    try:
        return GitRepo.discover(start)
    except UsageError:
        return None


def open_store(home: Path, url: str | None) -> AuditStore:
    """SQLite under ``home`` by default; PostgreSQL when ``url`` says so."""
    if not url:
        return SqliteAuditStore(home / "audit.sqlite")
    if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        normalised = url.replace("postgres://", "postgresql://", 1)
        if normalised.startswith("postgresql://"):
            normalised = normalised.replace("postgresql://", "postgresql+psycopg://", 1)
        return PostgresAuditStore(normalised)
    if url.startswith("sqlite:///"):
        return SqliteAuditStore(Path(url.removeprefix("sqlite:///")))
    raise UsageError("RISKCTL_DATABASE_URL must be a postgresql:// or sqlite:/// URL")


@dataclass
class Session:
    """Everything one command needs, built once at the edge."""

    home: Path
    loaded: LoadedConfig
    audit: AuditLog
    clock: Clock
    calendar: Calendar
    actor: str | None
    repo: GitRepo | None
    target_factory: Callable[[Path, LoadedConfig], DeployTarget]
    # Proves the acting identity and says whether this policy file may decide (riskctl.trust).
    trust: TrustContext
    appended: int = 0
    python: str = field(default=sys.executable)

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def config(self) -> Any:
        return self.loaded.config

    def ledger(self, *, verified: bool = True) -> Ledger:
        """The folded trail; ``verified=False`` only for display (the evidence report)."""
        try:
            bodies = self.audit.bodies() if verified else self.audit.unverified_bodies()
            return Ledger.from_bodies(bodies)
        except (ValueError, KeyError, TypeError) as exc:
            # Only an edited trail gets here: riskctl writes every entry it reads.
            raise AuditError(
                f"the audit trail cannot be read ({type(exc).__name__}: {exc}); run "
                "`riskctl audit verify` to find the altered entry"
            ) from None

    def record(
        self,
        action: str,
        *,
        release: str | None = None,
        env: str | None = None,
        details: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        # Nothing is recorded for an identity that is not proven by its own key (SPEC §6a).
        signer = self.trust.prove().name
        entry = Record(
            action=action,
            actor=actor or signer,
            at=self.clock.now(),
            release=release,
            env=env,
            policy_digest=self.loaded.digest,
            details=dict(details or {}),
        )
        self.appended += 1
        stored = self.audit.append([entry])[0]
        opened = automatic_incident(action, env, entry.details)
        if opened is not None:
            incident = self.audit.append(
                [
                    Record(
                        action=OPENED,
                        actor="riskctl",
                        at=self.clock.now(),
                        release=release,
                        env=env,
                        policy_digest=self.loaded.digest,
                        details={**opened, "automatic": True, "trigger_seq": stored["seq"]},
                    )
                ]
            )[0]
            self.appended += 1
            self.say_incident(incident_id(int(incident["seq"])), str(opened["summary"]))
        return stored

    def say_incident(self, ident: str, summary: str) -> None:
        """Tell the operator an incident was opened (stderr: stdout may be JSON)."""
        print(f"incident {ident} opened: {summary}", file=sys.stderr)

    def notify(self, notification: Notification) -> None:
        """Tell people (configured channels); each delivery's outcome goes into the audit trail.

        Called after the system is in a safe state (a rollback is complete), and bounded in time,
        so notifying never delays or blocks a rollback.
        """

        def record(delivery: Delivery) -> None:
            self.record(
                "notification.sent" if delivery.delivered else "notification.failed",
                env=notification.env,
                details={
                    "event": delivery.event,
                    "channel": delivery.channel,
                    "attempts": delivery.attempts,
                    "error": delivery.error,
                },
            )

        send(self.config.notifications, os.environ, notification, record)

    def require_actor(self) -> str:
        """The acting identity, proven by its private key (``--as`` alone proves nothing)."""
        return self.trust.prove().name

    def sign(self, kind: Kind, subject: str, env: str | None, **extra: Any) -> dict[str, str]:
        """``{"statement": …}``: the acting identity's signed statement, for an entry's details."""
        return {"statement": self.trust.sign(kind, subject, env, self.clock.now(), extra)}

    def refuse(
        self, action: str, decision: Decision, release: Release, env: str | None
    ) -> NoReturn:
        self.record(
            action,
            release=release.digest,
            env=env,
            details={"release": release.id, **decision.as_dict()},
        )
        raise PolicyRefusedError(decision.message(), decision.missing)

    def close(self) -> None:
        if self.appended:
            self.audit.checkpoint(self.clock.now())
            # After the command's work (rollbacks included): a witness never blocks it.
            pins = audit_anchors.anchors_from_policy(self.trust.identities.audit)
            failed = audit_anchors.cosign_after_command(self.audit, pins, self.clock.now())
            for name, error in failed.items():
                print(f"warning: witness {name} did not cosign: {error}", file=sys.stderr)
        self.audit.store.close()

    # -- build -------------------------------------------------------------------------------

    def build(self, *, allow_dirty: bool) -> dict[str, Any]:
        if self.repo is None:
            raise UsageError("riskctl build must run inside the repository's git working tree")
        commit = self.repo.head()
        # Without --as the builder is the commit author's identity, still proven by its key.
        self.trust.default_actor(self.trust.identities.identity_for_email(commit.email))
        actor = self.require_actor()  # the builder: a dirty build's changes are theirs
        dirty = self.repo.dirty_paths()
        if dirty and not allow_dirty:
            self.record(
                "build.refused",
                actor=actor,
                details={"commit": commit.sha, "dirty_paths": dirty[:50]},
            )
            shown = ", ".join(dirty[:5]) + (" …" if len(dirty) > 5 else "")
            raise PolicyRefusedError(
                f"build refused: the working tree is dirty ({shown}); commit your changes "
                "or pass --allow-dirty (the release is then marked dirty)"
            )
        ledger = self.ledger()
        prod_id = ledger.current.get("prod")
        started = time.monotonic()
        out = build_release(
            repo=self.repo,
            home=self.home,
            config=self.config,
            key=load_or_create_key(self.home / "keys", "release"),
            python=self.python,
            now=self.clock.now(),
            allow_dirty=allow_dirty,
            prod_release=ledger.releases.get(prod_id) if prod_id else None,
        )
        release = replace(out.release, builder=actor)
        self.record(
            "release.built",
            actor=actor,
            release=release.digest,
            details={
                **release_to_details(release),
                "artifacts": out.artifacts,
                "committed_at": datetime.fromtimestamp(commit.epoch, UTC).isoformat(),
                "build_seconds": round(time.monotonic() - started, 3),
            },
        )
        return {
            "release": release.id,
            "digest": release.digest,
            "commit": release.commit,
            "author": release.author,
            "version": release.version,
            "dirty": release.dirty,
            "change_class": str(release.change_class),
            "calculation_files": list(release.calculation_files),
            "base_release": release.base_release,
            "directory": str(out.directory),
            "artifacts": out.artifacts,
            "rebuilt_identical": out.existed,
        }

    # -- gates -------------------------------------------------------------------------------

    def gates(
        self,
        ref: str,
        *,
        only: Sequence[str] = (),
        skip: Sequence[str] = (),
        workers: int = 2,
        progress: bool = True,
    ) -> dict[str, Any]:
        release = self.ledger().release(ref)
        # Without --as gates run as the release author's identity, still proven by its key.
        self.trust.default_actor(self.trust.identities.identity_for_email(release.author_email))
        self.require_actor()
        known = self.config.gates
        for name in (*only, *skip):
            if name not in known:
                raise UsageError(f"unknown gate {name!r} (known: {', '.join(known)})")
        selected = [n for n in known if (not only or n in only) and n not in skip]
        if not selected:
            raise UsageError("no gates selected")
        release_dir = self.home / "releases" / release.id
        logs = self.home / "logs" / release.id
        logs.mkdir(parents=True, exist_ok=True)
        try:
            return self._gates_in_sandbox(
                release, release_dir, logs, selected, workers=workers, progress=progress
            )
        except PolicyRefusedError as exc:
            details = {"release": release.id, "gates": selected, "reason": str(exc)}
            self.record("gates.refused", release=release.digest, details=details)
            raise

    def _gates_in_sandbox(
        self, release: Release, release_dir: Path, logs: Path, selected: list[str], *,
        workers: int, progress: bool,
    ) -> dict[str, Any]:  # fmt: skip
        with gate_workspace(
            release=release.id, source_tar=release_dir / "source.tar", python=self.python,
            secrets=secrets_of(self.home, os.environ.get("RISKCTL_DATABASE_URL")),
            selected=selected, counted=counted_gates(self.config.environments),
        ) as space:  # fmt: skip
            ctx = GateContext(
                source=space.source, work=space.work, python=self.python,
                lock=release_dir / "requirements.lock", logs=logs, sandbox=space.sandbox,
            )  # fmt: skip
            return self._run_gates(release, selected, ctx, workers=workers, progress=progress)

    def _run_gates(
        self, release: Release, selected: list[str], ctx: GateContext, *, workers: int,
        progress: bool,
    ) -> dict[str, Any]:  # fmt: skip
        known, logs = self.config.gates, ctx.logs

        def on_result(result: GateResult) -> None:
            (logs / f"{result.gate}.log").write_bytes(result.log)
            self.record(
                "gate.result",
                release=release.digest,
                details={
                    "release": release.id,
                    "gate": result.gate,
                    "status": str(result.status),
                    "duration_s": round(result.duration_s, 3),
                    "log_digest": result.log_digest,
                    "summary": result.summary,
                    "metrics": result.metrics,
                    "isolation": str(ctx.sandbox.isolation),
                    # Counts only under the pinned policy's definition of this gate (sorted
                    # after status and summary, which short views show first).
                    "under_definition": gate_spec_digest(known[result.gate]),
                },
            )

        results = run_gates(
            [make_gate(n, known[n]) for n in selected],
            ctx,
            workers=workers,
            on_result=on_result,
            show_progress=progress,
        )
        failed = [r.gate for r in results if r.status is GateStatus.FAILED]
        unavailable = [r.gate for r in results if r.status is GateStatus.UNAVAILABLE]
        self.record(
            "gates.completed",
            release=release.digest,
            details={
                "release": release.id,
                "gates": selected,
                "failed": failed,
                "unavailable": unavailable,
            },
        )
        summary = {
            "release": release.id,
            "digest": release.digest,
            "passed": not failed,
            "gates": [
                {
                    "gate": r.gate,
                    "status": str(r.status),
                    "duration_s": round(r.duration_s, 3),
                    "log_digest": r.log_digest,
                    "summary": r.summary,
                }
                for r in results
            ],
        }
        if failed:
            raise GateFailedError(f"gates failed for {release.id}: {', '.join(failed)}", summary)
        return summary

    # -- review and approval -----------------------------------------------------------------

    def review(self, ref: str) -> dict[str, Any]:
        actor = self.require_actor()
        self.trust.require_pinned(None)
        release = self.ledger().release(ref)
        author = author_identity(self.config, release)
        decision = evaluate_review(self.config, actor, release, author)
        if not decision.allowed:
            self.refuse("review.refused", decision, release, None)
        self.record(
            "review.recorded",
            release=release.digest,
            details={"release": release.id, **self.sign(Kind.REVIEW, release.digest, None)},
        )
        return {"release": release.id, "digest": release.digest, "reviewer": actor}

    def approve(
        self,
        ref: str,
        env: str,
        *,
        break_glass: bool = False,
        model_change: bool = False,
        accept_judgement: str | None = None,
    ) -> dict[str, Any]:
        actor = self.require_actor()
        self.config.environment(env)  # validates the name
        self.trust.require_pinned(env)
        release = self.ledger().release(ref)
        author = author_identity(self.config, release)
        if model_change:
            return self._approve_model_change(actor, release, env, author, accept_judgement)
        decision = evaluate_approval(
            self.config, actor, env, release, author, break_glass=break_glass
        )
        if not decision.allowed:
            self.refuse("approval.refused", decision, release, env)
        roles = sorted(str(r) for r in self.config.roles_of(actor))
        self.record(
            "approval.recorded",
            release=release.digest,
            env=env,
            details={
                "release": release.id,
                "roles": roles,  # informative only: decisions re-derive roles from the policy
                "break_glass": break_glass,
                **self.sign(
                    Kind.BREAK_GLASS if break_glass else Kind.APPROVAL, release.digest, env
                ),
            },
        )
        return {
            "release": release.id,
            "digest": release.digest,
            "env": env,
            "approver": actor,
            "roles": roles,
            "break_glass": break_glass,
        }

    def _approve_model_change(
        self, actor: str, release: Release, env: str, author: str | None, accepted: str | None
    ) -> dict[str, Any]:
        """Risk management accepts the release's declared model change and its impact."""
        self.config.environment(env)
        roles = self.config.roles_of(actor)
        if release.model_change_impact is None:
            raise UsageError(
                f"{release.id} declares no model change (add [model_change] to "
                f"{self.config.declarations_file} and rebuild)"
            )
        decision = Decision(
            "model change approval",
            (
                Check("role", Role.RISK in roles, f"{actor} lacks role risk"),
                Check("not-author", actor != author, f"{actor} is the author"),
            ),
        )
        if not decision.allowed:
            self.refuse("approval.refused", decision, release, env)
        judgement = modeljudge.evaluate(self, release, env)  # both models backtested (issue 12)
        check = modeljudge.approval_check(judgement, accepted)
        judged = Decision("model change approval", (check,))
        if not judged.allowed:
            self.refuse("approval.refused", judged, release, env)
        judge = {"verdict": judgement.verdict, "accepted": accepted} if judgement else None
        self.record(
            "model_change.approved",
            release=release.digest,
            env=env,
            details={
                "release": release.id,
                "expected_impact": release.model_change_impact,
                "reason": release.model_change_reason,
                **self.sign(Kind.MODEL_CHANGE, release.digest, env),
                "judge": judge,
            },
        )
        return {
            "release": release.id,
            "digest": release.digest,
            "env": env,
            "approver": actor,
            "roles": sorted(str(r) for r in roles),
            "model_change": {
                "expected_impact": release.model_change_impact,
                "reason": release.model_change_reason,
            },
            "judgement": judgement.as_dict() if judgement else None,
        }

    # -- deploy ------------------------------------------------------------------------------

    def deploy(
        self,
        ref: str,
        env_name: str,
        *,
        strategy: Strategy | None = None,
        fast_track: bool = False,
        break_glass_reason: str | None = None,
        rollback_plan: str | None = None,
        check_only: bool = False,
        via: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Deploy ``ref`` to ``env_name`` through its policy.

        ``check_only`` stops after the policy (recorded as ``deploy.checked``: a preflight);
        ``via`` has a command do the deploy instead of this host's target
        (:mod:`riskctl.targets.command`), e.g. rendered manifests applied to a cluster.
        """
        if check_only and via:
            raise UsageError("--check and --via exclude each other: check first, then deploy")
        actor = self.require_actor()
        env = self.config.environment(env_name)
        self.trust.require_pinned(env_name)
        ledger = self.ledger()
        release = ledger.release(ref)
        chosen = strategy or env.strategy
        target: DeployTarget = (
            CommandTarget(via) if via else self.target_factory(self.home, self.loaded)
        )
        if not check_only and chosen in env.allowed_strategies and chosen not in target.strategies:
            supported = ", ".join(sorted(str(s) for s in target.strategies))
            raise UsageError(
                f"strategy {chosen} is not available on this target (available: {supported}); "
                f"pass --strategy {sorted(target.strategies)[0]}"
            )
        request = DeployRequest(
            env=env_name,
            actor=actor,
            now=self.clock.now(),
            fast_track=fast_track,
            break_glass_reason=break_glass_reason,
            rollback_plan=rollback_plan,
            strategy=chosen,
            via=via is not None,
        )
        # Only reviews, approvals and gate results that verify against this policy count.
        facts = trusted_facts(self.config, ledger.facts(release, env_name, self.config)).facts
        decision = evaluate_deploy(self.config, self.calendar, request, facts)
        if not decision.allowed:
            self.refuse("deploy.refused", decision, release, env_name)
        try:  # finding 7: the files must still be the audited release
            verify_release_files(self.home / "releases" / release.id, release.wheel, release.digest)
        except ReleaseTamperedError as exc:
            why = {"release": release.id, "allowed": False, "missing": [str(exc)]}
            self.record("deploy.refused", release=release.digest, env=env_name, details=why)
            raise PolicyRefusedError(str(exc), (str(exc),)) from None
        signed = self.sign(
            Kind.DEPLOY_REQUEST, release.digest, env_name, strategy=str(chosen),
            via=shlex.join(via) if via else None, check=check_only,
        )  # fmt: skip
        if check_only:
            details = {
                "release": release.id, "strategy": str(chosen), **decision.as_dict(), **signed,
            }  # fmt: skip
            self.record("deploy.checked", release=release.digest, env=env_name, details=details)
            return {**details, "env": env_name, "digest": release.digest}
        previous_id = ledger.current.get(env_name)
        previous = ledger.releases.get(previous_id) if previous_id else None
        self.record(
            "deploy.started",
            release=release.digest,
            env=env_name,
            details={
                "release": release.id,
                "strategy": str(chosen),
                "previous": previous_id,
                "fast_track": fast_track,
                "break_glass_reason": break_glass_reason,
                "rollback_plan": rollback_plan
                or (f"restore {previous_id}" if previous_id else None),
                **({"via": shlex.join(via)} if via else {}),
                **decision.as_dict(),
                **signed,
            },
        )
        weights = (
            self.config.change_classes.fast_track.canary_steps if fast_track else env.canary_steps
        )
        outcome = target.deploy(
            self._request(
                env_name, release, chosen, previous=previous, canary_weights=tuple(weights)
            )
        )
        return self._finish(env_name, release, chosen, outcome, previous)

    def _request(
        self,
        env_name: str,
        release: Release,
        strategy: Strategy,
        *,
        previous: Release | None = None,
        canary_weights: tuple[int, ...] = (),
        rollback: bool = False,
    ) -> TargetRequest:
        env = self.config.environment(env_name)
        state = self.home / "envs" / env_name
        state.mkdir(parents=True, exist_ok=True)
        ledger = self.ledger()
        allowance = None
        accepted = [
            a
            for a in ledger.model_change_signed.get(release.digest, ())
            if Role.RISK in self.config.roles_of(a.actor)
            and statement_counts(
                self.config, Kind.MODEL_CHANGE, actor=a.actor, subject=a.digest, env=a.env,
                statement=a.statement,
            ) is None
        ]  # fmt: skip
        if release.model_change_impact is not None and accepted:
            allowance = release.model_change_impact
        golden = Path(env.shadow.golden_set)
        if not golden.is_absolute():
            golden = self.loaded.path.parent / golden
        return TargetRequest(
            env=env_name,
            release=release,
            release_dir=self.home / "releases" / release.id,
            strategy=strategy,
            port=env.port,
            variables=_service_variables(env_name, release, state, env.database_url),
            previous=previous,
            previous_dir=self.home / "releases" / previous.id if previous else None,
            previous_variables=_service_variables(env_name, previous, state, env.database_url)
            if previous
            else {},
            spec=env,
            sink=self._sink(env_name),
            actor=self.actor or "",
            canary_weights=canary_weights,
            golden_set=golden,
            shadow_allowance=allowance,
            rollback=rollback,
        )

    def _sink(self, env_name: str) -> EventSink:
        def sink(action: str, digest: str | None, details: Mapping[str, Any]) -> None:
            self.record(action, release=digest, env=env_name, details=details)

        return sink

    def _finish(
        self,
        env_name: str,
        release: Release,
        chosen: Strategy,
        outcome: TargetOutcome,
        previous: Release | None,
    ) -> dict[str, Any]:
        env = self.config.environment(env_name)
        details = {
            "release": release.id,
            "strategy": str(chosen),
            "steps": list(outcome.steps),
            "message": outcome.message,
            "version": dict(outcome.version),
        }
        result = {
            "release": release.id,
            "digest": release.digest,
            "env": env_name,
            "strategy": str(chosen),
            "steps": list(outcome.steps),
            "url": env.url,
            "message": outcome.message,
            "phase": outcome.details.get("phase", "Healthy" if outcome.ok else "Aborted"),
            "analysis": outcome.details.get("verdict"),
            "shadow": outcome.details.get("shadow"),
        }
        if outcome.paused:
            self.record(
                "rollout.paused",
                release=release.digest,
                env=env_name,
                details={**details, "reason": outcome.message},
            )
            self.notify(
                Notification(Event.ANALYSIS_INCONCLUSIVE, env_name, outcome.message, release.id)
            )
            return result
        if outcome.ok:
            if not outcome.recorded:
                self.record(
                    "deploy.succeeded", release=release.digest, env=env_name, details=details
                )
            self.notify(Notification(Event.DEPLOY_SUCCEEDED, env_name, outcome.message, release.id))
            return result
        if not outcome.recorded:
            self.record("deploy.failed", release=release.digest, env=env_name, details=details)
            if outcome.rolled_back and previous is not None:
                self.record(
                    "rollback.performed",
                    release=previous.digest,
                    env=env_name,
                    details={
                        "release": previous.id,
                        "reason": outcome.message,
                        "aborted": release.id,
                    },
                )
        event = Event.ROLLED_BACK if outcome.rolled_back else Event.DEPLOY_FAILED
        self.notify(Notification(event, env_name, outcome.message, release.id))
        shadow = outcome.details.get("shadow") or {}
        report = list(shadow.get("report", [])) if not shadow.get("passed", True) else []
        raise DeployFailedError(outcome.message, {**result, "report": report})

    # -- promote, abort, rollback --------------------------------------------------------------

    def _controlled(self) -> ControlledTarget:
        target = self.target_factory(self.home, self.loaded)
        if not isinstance(target, ControlledTarget):
            raise UsageError("this deploy target has no rollouts to promote or abort")
        return target

    def _may_operate(self, env_name: str, what: str) -> str:
        actor = self.require_actor()
        env = self.config.environment(env_name)
        self.trust.require_pinned(env_name)
        roles = self.config.roles_of(actor)
        if not roles & set(env.deployers):
            allowed = ", ".join(str(r) for r in env.deployers)
            message = f"{actor} may not {what} in {env_name} (roles allowed: {allowed})"
            self.record(f"{what}.refused", env=env_name, details={"reason": message})
            raise PolicyRefusedError(message, (f"role: one of {allowed}",))
        return actor

    def promote(self, env_name: str) -> dict[str, Any]:
        actor = self._may_operate(env_name, "promote")
        self._promote_in_window(env_name)
        self.record("rollout.promoted", env=env_name, details={"by": actor})
        outcome = self._controlled().promote(env_name, actor, self._sink(env_name))
        return self._control_result(env_name, outcome)

    def _promote_in_window(self, env_name: str) -> None:
        """A promotion moves traffic, so it is a deploy step: refused outside the environment's
        windows and during the freeze, as the deploy itself would be (finding 10)."""
        env = self.config.environment(env_name)
        problems = window_problems(
            self.clock.now(), env, self.config.freeze, self.config.calendar.timezone, self.calendar
        )
        if problems:
            message = f"promote in {env_name} refused: " + "; ".join(problems)
            self.record("promote.refused", env=env_name, details={"reason": message})
            raise PolicyRefusedError(message, tuple(problems))

    def abort(self, env_name: str, reason: str) -> dict[str, Any]:
        actor = self._may_operate(env_name, "abort")
        self.record("rollout.abort_requested", env=env_name, details={"reason": reason})
        outcome = self._controlled().abort(env_name, reason, actor, self._sink(env_name))
        return {**self._control_result(env_name, outcome, fail=False), "aborted": True}

    def _control_result(
        self, env_name: str, outcome: TargetOutcome, *, fail: bool = True
    ) -> dict[str, Any]:
        result = {
            "env": env_name,
            "message": outcome.message,
            "steps": list(outcome.steps),
            "phase": outcome.details.get("phase"),
            "analysis": outcome.details.get("verdict"),
        }
        if fail and not outcome.ok:
            raise DeployFailedError(outcome.message, result)
        return result

    def rollback(self, env_name: str, to: str | None) -> dict[str, Any]:
        actor = self._may_operate(env_name, "rollback")
        ledger = self.ledger()
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
            self.record(
                "rollback.refused",
                release=target_release.digest,
                env=env_name,
                details={"release": target_release.id, "blocked_by": blocker.id,
                         "reason": message},
            )  # fmt: skip
            raise PolicyRefusedError(message, (f"reversible releases after {target_release.id}",))
        self.record(
            "rollback.started",
            release=target_release.digest,
            env=env_name,
            details={"release": target_release.id, "from": current, "by": actor},
        )
        target = self.target_factory(self.home, self.loaded)
        previous = ledger.releases.get(current) if current else None
        outcome = target.deploy(
            self._request(
                env_name, target_release, Strategy.RECREATE, previous=previous, rollback=True
            )
        )
        if outcome.ok and not outcome.recorded:
            self.record(
                "rollback.performed",
                release=target_release.digest,
                env=env_name,
                details={"release": target_release.id, "reason": "requested"},
            )
        if not outcome.ok:
            raise DeployFailedError(f"rollback failed: {outcome.message}")
        return {
            "env": env_name,
            "release": target_release.id,
            "from": current,
            "message": outcome.message,
            "steps": list(outcome.steps),
        }

    # -- status, history, audit --------------------------------------------------------------

    def status(self, env_filter: str | None = None) -> dict[str, Any]:
        ledger = self.ledger()
        names = [env_filter] if env_filter else list(self.config.environments)
        for name in names:
            self.config.environment(name)
        target = self.target_factory(self.home, self.loaded)
        envs: dict[str, Any] = {}
        for name in names:
            env = self.config.environment(name)
            if hasattr(target, "status_sink"):
                target.status_sink = self._sink(name)
            if hasattr(target, "status_converges"):
                # Converging records and acts: only for a proven deployer of the environment
                # (finding 10); anyone else gets a read-only look.
                target.status_converges = self._may_converge(name)
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
            envs[name] = {
                "url": env.url,
                "stable_release": stable,
                "stable_digest": ledger.releases[stable].digest if stable in ledger.releases
                else None,
                "canary_release": extra.pop("canary_release", None),
                "canary_weight": extra.pop("canary_weight", 0),
                "phase": phase,
                "health": instance.state if instance.healthy is None else (
                    "up" if instance.healthy else "down"
                ),
                "strategy": str(env.strategy),
                "last_deploy": None
                if last is None
                else {"release": last.release, "ok": last.ok, "at": last.at.isoformat(),
                      "actor": last.actor},
                **extra,
            }  # fmt: skip
        return {"environments": envs}

    def _may_converge(self, env_name: str) -> bool:
        if not self.actor:
            return False
        try:
            name = self.require_actor()
            self.trust.require_pinned(env_name)
        except RiskctlError:
            return False
        return bool(self.config.roles_of(name) & set(self.config.environment(env_name).deployers))

    def history(self, limit: int | None = None) -> dict[str, Any]:
        ledger = self.ledger()
        interesting = (
            "release.built", "gates.completed", "review.recorded", "approval.recorded",
            "deploy.checked", "deploy.succeeded", "deploy.failed", "rollback.performed",
            "deploy.refused",
            "approval.refused", "review.refused", "build.refused", "rollback.refused",
            "model_change.approved", "rollout.paused", "rollout.promoted",
            "rollout.abort_requested", "analysis.verdict", "shadow.compared",
            "risk-run", "risk-run-fell_back", "risk-run-failed", "notification.sent",
            "notification.failed", "exec", "incident.opened", "incident.resolved",
            "policy.pinned", "exec.refused", "risk-run.refused", "promote.refused",
        )  # fmt: skip
        events = [
            {
                "seq": e["seq"],
                "time": e["time"],
                "actor": e["actor"],
                "action": e["action"],
                "env": e.get("env"),
                "release": (e.get("details") or {}).get("release"),
                "digest": e.get("release"),
            }
            for e in ledger.events
            if e.get("action") in interesting
        ]
        if limit:
            events = events[-limit:]
        releases = [
            {
                "release": r.id,
                "digest": r.digest,
                "commit": r.commit,
                "author": r.author,
                "version": r.version,
                "built_at": r.built_at.isoformat(),
                "change_class": str(r.change_class),
                "dirty": r.dirty,
                "environments": sorted(ledger.deployed_envs(r.digest)),
            }
            for r in ledger.releases.values()
        ]
        return {"releases": releases, "events": events}

    def verify(self) -> VerifyReport:
        pins = audit_anchors.anchors_from_policy(self.trust.identities.audit)
        return audit_anchors.verify_anchors(self.audit, pins, self.audit.verify())

    # -- incidents and DORA --------------------------------------------------------------------

    def incidents(self, *, include_resolved: bool = True) -> list[dict[str, Any]]:
        found = fold_incidents(self.audit.bodies())
        return [i.as_dict() for i in found if include_resolved or i.open]

    def open_incident(
        self, env_name: str, summary: str, impact: str, release_ref: str | None
    ) -> dict[str, Any]:
        actor = self.require_actor()
        self.config.environment(env_name)  # validates the name
        self.trust.require_pinned(env_name)
        if not summary.strip():
            raise UsageError("an incident needs a --summary saying what is wrong")
        release = self.ledger().release(release_ref) if release_ref else None
        entry = self.record(
            OPENED,
            actor=actor,
            env=env_name,
            release=release.digest if release else None,
            details={
                "summary": summary.strip(),
                "impact": impact.strip(),
                "automatic": False,
                "cause": "manual",
                "release": release.id if release else None,
                **self.sign(Kind.INCIDENT_OPEN, summary.strip(), env_name),
            },
        )
        return {"id": incident_id(int(entry["seq"])), "env": env_name, "summary": summary}

    def resolve_incident(
        self, ident: str, root_cause: str, regression_test: str, impact: str
    ) -> dict[str, Any]:
        actor = self.require_actor()
        known = {i.id: i for i in fold_incidents(self.audit.bodies())}
        incident = known.get(ident.strip().upper())
        if incident is None:
            listed = ", ".join(i for i, x in known.items() if x.open) or "none"
            raise UsageError(f"no incident {ident!r}; open incidents: {listed}")
        if not incident.open:
            raise UsageError(
                f"{incident.id} was already resolved by {incident.resolved_by} at "
                f"{incident.resolved_at.isoformat() if incident.resolved_at else '?'}"
            )
        given = (("--root-cause", root_cause), ("--regression-test", regression_test))
        missing = [flag for flag, value in given if not value.strip()]
        if missing:
            raise UsageError(
                f"resolving {incident.id} needs {' and '.join(missing)}: what caused it and the "
                "test that now prevents a repeat"
            )
        self.trust.require_pinned(incident.env)
        self.record(
            RESOLVED,
            actor=actor,
            env=incident.env,
            details={
                **self.sign(Kind.INCIDENT_RESOLUTION, incident.id, incident.env),
                "id": incident.id,
                "root_cause": root_cause.strip(),
                "regression_test": regression_test.strip(),
                "impact": impact.strip(),
            },
        )
        resolved = {i.id: i for i in fold_incidents(self.audit.bodies())}[incident.id]
        return resolved.as_dict()

    def report(self, release_ref: str) -> Evidence:
        """The compliance evidence of one release: audit entries, artifacts, signature."""
        # Evidence shows a tampered trail (marked INCOMPLETE with its problems) rather than
        # refusing: it decides nothing, and an auditor needs to see what is there.
        release = self.ledger(verified=False).release(release_ref)
        bodies = self.audit.unverified_bodies()
        built = next(
            (
                b
                for b in bodies
                if b.get("action") == "release.built" and b.get("release") == release.digest
            ),
            {},
        )
        directory = self.home / "releases" / release.id
        recorded: Mapping[str, str] = (built.get("details") or {}).get("artifacts") or {}
        checks = [
            ArtifactCheck(
                name,
                digest,
                sha256_file(directory / name) if (directory / name).is_file() else None,
            )
            for name, digest in sorted(recorded.items())
        ]
        signature = _check_provenance(directory, self.home / "keys" / "release.pub", release)
        verified = self.verify()
        audit = (
            verified.ok,
            f"{verified.entries} entries, {verified.checkpoints} signed checkpoints, root "
            f"{verified.root}"
            + (
                f"; {verified.unanchored} entries after the last checkpoint"
                if verified.unanchored
                else ""
            )
            + "".join(f"; {line}" for line in audit_anchors.anchor_lines(verified)),
            [f"#{p.seq}: {p.message}" if p.seq else p.message for p in verified.problems],
        )
        return evidence(
            bodies,
            release,
            self.config,
            generated_at=self.clock.now(),
            artifacts=checks,
            signature=signature,
            audit=audit,
        )

    def dora(self, env_name: str, days: float) -> dict[str, Any]:
        self.config.environment(env_name)  # validates the name
        report = dora_report(self.audit.bodies(), env_name, until=self.clock.now(), days=days)
        return report.as_dict()


def _check_provenance(directory: Path, public_key: Path, release: Release) -> tuple[bool, str]:
    """Verify the release's DSSE-signed provenance and that it names the release's artifacts."""
    envelope = directory / "provenance.dsse.json"
    if not envelope.is_file():
        return False, f"{envelope.name} is missing from the release directory"
    if not public_key.is_file():
        return False, "the release signing key's public half is missing"
    try:
        statement = dsse_verify(envelope.read_bytes(), load_public_key(public_key))
    except ValueError as exc:
        return False, f"signature does not verify: {exc}"
    subjects = {s.get("name") for s in statement.get("subject", []) if isinstance(s, dict)}
    if release.wheel and release.wheel not in subjects:
        return False, f"signed, but the provenance does not name {release.wheel}"
    return True, f"verified with key {key_id(load_public_key(public_key))}; subjects: " + ", ".join(
        sorted(str(s) for s in subjects)
    )


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


def service_variables(session: Session, env: str, release: Release) -> dict[str, str]:
    """Hook: the variables a release's processes get in ``env`` (daily-run guard, demo)."""
    spec = session.config.environment(env)
    return _service_variables(env, release, session.home / "envs" / env, spec.database_url)


def _default_target(home: Path, loaded: LoadedConfig) -> DeployTarget:
    return RolloutTarget(home, loaded.config)


def open_session(
    *,
    config_path: str | None,
    actor: str | None,
    cwd: Path | None = None,
    clock: Clock | None = None,
    calendar: Calendar | None = None,
    target_factory: Callable[[Path, LoadedConfig], DeployTarget] | None = None,
    key: str | None = None,
) -> Session:
    """Build a session from the environment (``RISKCTL_HOME``, ``RISKCTL_DATABASE_URL``, …)."""
    start = cwd or Path.cwd()
    repo = _find_repo(start)
    root = repo.root if repo else None
    loaded = load_config(resolve_config_path(config_path, root))
    home = Path(os.environ.get("RISKCTL_HOME") or ((root or start) / ".riskctl"))
    home.mkdir(parents=True, exist_ok=True)
    try:
        pinned, pin_error = read_pinned(home), None
    except PinError as exc:
        pinned, pin_error = None, str(exc)
    trust = TrustContext(
        loaded=loaded,
        pinned=pinned,
        pin_error=pin_error,
        actor=resolve_actor(actor),
        key_path=key,
        environ=dict(os.environ),
    )
    if clock is None:
        override = os.environ.get("RISKCTL_NOW")
        # Another file can never unlock a clock override: the pinned policy must allow it too.
        allowed = loaded.config.clock_override and trust.identities.clock_override
        if override and not allowed:
            raise UsageError("RISKCTL_NOW is set but the policy file does not allow clock_override")
        try:
            clock = SystemClock() if not override else _fixed(override)
        except ValueError as exc:
            raise UsageError(f"RISKCTL_NOW: {exc}") from None
    store = open_store(home, os.environ.get("RISKCTL_DATABASE_URL"))
    if isinstance(store, PostgresAuditStore):
        store.check_ready()
    pins = audit_anchors.anchors_from_policy(trust.identities.audit)
    audit_key = audit_anchors.open_audit_key(home / "keys", pins)
    audit = AuditLog(store, audit_key, home / "checkpoints.jsonl")
    if pins.witnesses:  # what the witnesses remember is checked before any decision folds
        signer = pins.log or audit_anchors.log_verifier(audit_key)
        audit.outside = audit_anchors.WitnessViews(pins, signer)
    return Session(
        home=home,
        loaded=loaded,
        audit=audit,
        clock=clock,
        calendar=calendar or ExchangeCalendar(loaded.config.calendar.exchange),
        actor=resolve_actor(actor),
        repo=repo,
        target_factory=target_factory or _default_target,
        trust=trust,
    )


def _fixed(text: str) -> Clock:
    return FixedClock(parse_instant(text))
