"""What every use case runs in: the policy, the audit recorder, the clock, the acting identity and
the deploy target, built once at the edge (:func:`open_context`) and closed after the command.

Use cases never print: what an operator should hear while a command runs (an incident opened,
a witness that did not cosign) goes to the context's ``notice`` callback, which the CLI points at
stderr (stdout may be JSON).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from riskctl.clock import Calendar, Clock, ExchangeCalendar, FixedClock, SystemClock, parse_instant
from riskctl.config import DeliveryConfig, LoadedConfig, load_config, resolve_config_path
from riskctl.errors import AuditError, PolicyRefusedError, UsageError
from riskctl.gitrepo import GitRepo
from riskctl.trust.context import TrustContext
from riskctl.trust.pin import PinError, read_pinned

if TYPE_CHECKING:
    from riskctl.audit.log import AuditLog
    from riskctl.ledger import Ledger
    from riskctl.model import Release
    from riskctl.notify import Notification
    from riskctl.policy import Decision
    from riskctl.targets.interface import DeployTarget, EventSink
    from riskctl.trust.statements import Kind

__all__ = ["Context", "Notice", "TargetFactory", "load_policy", "open_context", "resolve_actor"]

#: Tells the operator something while a command runs (the CLI: a line on stderr).
Notice = Callable[[str], None]
TargetFactory = Callable[[Path, LoadedConfig], "DeployTarget"]


def resolve_actor(explicit: str | None) -> str | None:
    """``--as``, else ``RISKCTL_ACTOR``, else ``GITHUB_ACTOR`` (GitHub Actions)."""
    return explicit or os.environ.get("RISKCTL_ACTOR") or os.environ.get("GITHUB_ACTOR") or None


def _unheard(line: str) -> None:
    """The default notice: nobody is listening (a test, a read-only dashboard request)."""
    del line


def _default_target(home: Path, loaded: LoadedConfig) -> DeployTarget:
    from riskctl.rollout.controller import RolloutTarget  # noqa: PLC0415 - heavy, on demand

    return RolloutTarget(home, loaded.config)


@dataclass
class Context:
    """Everything one command needs, built once at the edge."""

    home: Path
    loaded: LoadedConfig
    audit: AuditLog
    clock: Clock
    calendar: Calendar
    actor: str | None
    repo: GitRepo | None
    target_factory: TargetFactory
    # Proves the acting identity and says whether this policy file may decide (riskctl.trust).
    trust: TrustContext
    appended: int = 0
    python: str = field(default=sys.executable)
    notice: Notice = field(default=_unheard, repr=False)

    @property
    def config(self) -> DeliveryConfig:
        return self.loaded.config

    def ledger(self, *, verified: bool = True) -> Ledger:
        """The folded trail; ``verified=False`` only for display (the evidence report)."""
        from riskctl.ledger import Ledger  # noqa: PLC0415

        try:
            bodies = self.audit.bodies() if verified else self.audit.unverified_bodies()
            return Ledger.from_bodies(bodies, display=not verified)
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
        """Append one signed entry (and the incident it opens, if any); returns the stored body."""
        from riskctl.audit.log import Record  # noqa: PLC0415
        from riskctl.incidents import OPENED, automatic_incident, incident_id  # noqa: PLC0415

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
            ident = incident_id(int(incident["seq"]))
            self.notice(f"incident {ident} opened: {opened['summary']}")
        return stored

    def sink(self, env_name: str) -> EventSink:
        """Where a deploy target records what it does in ``env_name``."""

        def sink(action: str, digest: str | None, details: Mapping[str, Any]) -> None:
            self.record(action, release=digest, env=env_name, details=details)

        return sink

    def notify(self, notification: Notification) -> None:
        """Tell people (configured channels); each delivery's outcome goes into the audit trail.

        Called after the system is in a safe state (a rollback is complete), and bounded in time,
        so notifying never delays or blocks a rollback.
        """
        from riskctl.notify import Delivery  # noqa: PLC0415
        from riskctl.notify.channels import send  # noqa: PLC0415

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
        """Record a refused decision and raise it (exit 3)."""
        self.record(
            action,
            release=release.digest,
            env=env,
            details={"release": release.id, **decision.as_dict()},
        )
        raise PolicyRefusedError(decision.message(), decision.missing)

    def close(self) -> None:
        """Checkpoint what this command appended, have the witnesses cosign, close the store."""
        if self.appended:
            from riskctl.audit import anchors as audit_anchors  # noqa: PLC0415

            self.audit.checkpoint(self.clock.now())
            # After the command's work (rollbacks included): a witness never blocks it.
            pins = audit_anchors.anchors_from_policy(self.trust.identities.audit)
            failed = audit_anchors.cosign_after_command(self.audit, pins, self.clock.now())
            for name, error in failed.items():
                self.notice(f"warning: witness {name} did not cosign: {error}")
        self.audit.store.close()


def open_context(
    *,
    config_path: str | None,
    actor: str | None,
    cwd: Path | None = None,
    clock: Clock | None = None,
    calendar: Calendar | None = None,
    target_factory: TargetFactory | None = None,
    key: str | None = None,
    notice: Notice = _unheard,
    cls: type[Context] = Context,
) -> Context:
    """Build a context from the environment (``RISKCTL_HOME``, ``RISKCTL_DATABASE_URL``, …)."""
    from riskctl.audit.stores import open_audit_log  # noqa: PLC0415

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
        home=home,
    )
    if clock is None:
        clock = _clock(loaded, trust)
    audit = open_audit_log(home, os.environ.get("RISKCTL_DATABASE_URL"), trust.identities.audit)
    return cls(
        home=home,
        loaded=loaded,
        audit=audit,
        clock=clock,
        calendar=calendar or ExchangeCalendar(loaded.config.calendar.exchange),
        actor=resolve_actor(actor),
        repo=repo,
        target_factory=target_factory or _default_target,
        trust=trust,
        notice=notice,
    )


def load_policy(config_path: str | None, cwd: Path | None = None) -> DeliveryConfig:
    """The policy file alone (no audit store): for commands that only read policy."""
    repo = _find_repo(cwd or Path.cwd())
    return load_config(resolve_config_path(config_path, repo.root if repo else None)).config


def _find_repo(start: Path) -> GitRepo | None:
    try:
        return GitRepo.discover(start)
    except UsageError:
        return None


def _clock(loaded: LoadedConfig, trust: TrustContext) -> Clock:
    override = os.environ.get("RISKCTL_NOW")
    # Another file can never unlock a clock override: the pinned policy must allow it too.
    allowed = loaded.config.clock_override and trust.identities.clock_override
    if override and not allowed:
        raise UsageError("RISKCTL_NOW is set but the policy file does not allow clock_override")
    try:
        return SystemClock() if not override else FixedClock(parse_instant(override))
    except ValueError as exc:
        raise UsageError(f"RISKCTL_NOW: {exc}") from None
