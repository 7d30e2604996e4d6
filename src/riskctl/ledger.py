"""The ledger: the current state of releases, gates, approvals and deploys, folded from the audit
log's entries (pure). The audit log is the only source of truth; nothing here is stored twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from riskctl.audit.actions import Action, known_action, parse_action
from riskctl.clock import parse_instant
from riskctl.config import DeliveryConfig
from riskctl.errors import UsageError
from riskctl.model import (
    Approval,
    ChangeClass,
    Deployment,
    GateRecord,
    GateStatus,
    Release,
    Review,
    Role,
    Strategy,
)
from riskctl.policy import DeployFacts

__all__ = ["Ledger", "author_identity", "release_from_details", "release_to_details"]


def author_identity(config: DeliveryConfig, release: Release) -> str | None:
    """Who wrote the release's changes (finding 6): the identity whose e-mail is the commit's
    author e-mail (never matched by name); for a dirty build, the proven builder, whose
    uncommitted changes it carries."""
    if release.dirty and release.builder:
        return release.builder
    return config.identity_for_email(release.author_email)


def release_to_details(release: Release) -> dict[str, Any]:
    """A release as the JSON details of its ``release.built`` entry."""
    return {
        "release": release.id,
        "digest": release.digest,
        "commit": release.commit,
        "author": release.author,
        "author_email": release.author_email,
        "version": release.version,
        "built_at": release.built_at.isoformat(),
        "dirty": release.dirty,
        "change_class": str(release.change_class),
        "changed_files": list(release.changed_files),
        "calculation_files": list(release.calculation_files),
        "base_release": release.base_release,
        "wheel": release.wheel,
        "model_change_impact": release.model_change_impact,
        "model_change_reason": release.model_change_reason,
        "reversible": release.reversible,
        "irreversible_reason": release.irreversible_reason,
        "builder": release.builder,
    }


def release_from_details(d: Mapping[str, Any]) -> Release:
    """The inverse of :func:`release_to_details`."""
    return Release(
        id=d["release"],
        digest=d["digest"],
        commit=d["commit"],
        author=d["author"],
        author_email=d["author_email"],
        version=d["version"],
        built_at=datetime.fromisoformat(d["built_at"]),
        dirty=bool(d.get("dirty", False)),
        change_class=ChangeClass(d.get("change_class", "calculation")),
        changed_files=tuple(d.get("changed_files", ())),
        calculation_files=tuple(d.get("calculation_files", ())),
        base_release=d.get("base_release"),
        wheel=d.get("wheel", ""),
        model_change_impact=d.get("model_change_impact"),
        model_change_reason=d.get("model_change_reason", ""),
        reversible=bool(d.get("reversible", True)),
        irreversible_reason=d.get("irreversible_reason", ""),
        builder=d.get("builder", ""),
    )


@dataclass
class Ledger:
    """Everything the audit log says, indexed for policy decisions, status and history."""

    releases: dict[str, Release] = field(default_factory=dict)
    gates: dict[str, dict[str, GateRecord]] = field(default_factory=dict)
    reviews: dict[str, list[Review]] = field(default_factory=dict)
    approvals: dict[str, list[Approval]] = field(default_factory=dict)
    deployments: list[Deployment] = field(default_factory=list)
    current: dict[str, str] = field(default_factory=dict)
    # env -> releases that became current there, in order (deploys and rollbacks).
    lineage: dict[str, list[str]] = field(default_factory=dict)
    # digest -> identities of risk management who approved its declared model change.
    model_change_approvals: dict[str, list[str]] = field(default_factory=dict)
    # The same, with their signed statements (only verified ones count: riskctl.trust.facts).
    model_change_signed: dict[str, list[Approval]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    # seq of each entry whose action this riskctl does not know (display folds only).
    unknown: list[int] = field(default_factory=list)

    @classmethod
    def from_bodies(cls, bodies: Iterable[Mapping[str, Any]], *, display: bool = False) -> Ledger:
        """Fold ``bodies`` (oldest first).

        An entry whose action this riskctl does not know (another version wrote it) refuses the
        fold with :class:`~riskctl.audit.actions.UnknownActionError`: decisions are taken from the
        ledger. With ``display`` (showing, never deciding) such an entry stays in ``events``, its
        ``seq`` goes to ``unknown`` and nothing else is folded from it.
        """
        ledger = cls()
        for body in bodies:
            ledger._apply(body, display=display)
        return ledger

    def _apply(self, body: Mapping[str, Any], *, display: bool) -> None:
        details: Mapping[str, Any] = body.get("details") or {}
        digest = body.get("release")
        at = parse_instant(body["time"])
        raw = body.get("action")
        action = known_action(raw) if display else parse_action(raw, seq=body.get("seq"))
        self.events.append(dict(body))
        if action is None:
            self.unknown.append(int(body.get("seq") or 0))
            return
        match action:
            case Action.RELEASE_BUILT:
                release = release_from_details(details)
                self.releases.setdefault(release.id, release)
            case Action.GATE_RESULT:
                if digest:
                    self._gate(digest, details)
            case Action.REVIEW_RECORDED:
                if digest:
                    self.reviews.setdefault(digest, []).append(
                        Review(body["actor"], digest, at, statement=details.get("statement", ""))
                    )
            case Action.APPROVAL_RECORDED:
                if digest:
                    self.approvals.setdefault(digest, []).append(
                        Approval(
                            actor=body["actor"],
                            roles=frozenset(Role(r) for r in details.get("roles", ())),
                            env=body["env"],
                            digest=digest,
                            at=at,
                            break_glass=bool(details.get("break_glass", False)),
                            statement=details.get("statement", ""),
                        )
                    )
            case Action.DEPLOY_SUCCEEDED | Action.DEPLOY_FAILED:
                if digest:
                    self._deployed(body, action is Action.DEPLOY_SUCCEEDED, digest, at)
            case Action.ROLLBACK_PERFORMED:
                if body.get("env") and details.get("release"):
                    self._make_current(body["env"], details["release"])
            case Action.MODEL_CHANGE_APPROVED:
                if digest:
                    self.model_change_approvals.setdefault(digest, []).append(body["actor"])
                    self.model_change_signed.setdefault(digest, []).append(
                        Approval(body["actor"], frozenset(), body.get("env") or "", digest, at,
                                 statement=details.get("statement", ""))
                    )  # fmt: skip
            case _:
                pass  # history only (not read here: riskctl.audit.actions.READ_BY)

    def _gate(self, digest: str, details: Mapping[str, Any]) -> None:
        record = GateRecord(
            gate=details["gate"],
            status=GateStatus(details["status"]),
            digest=digest,
            duration_s=float(details.get("duration_s", 0.0)),
            log_digest=details.get("log_digest", ""),
            summary=details.get("summary", ""),
            spec_digest=details.get("under_definition", ""),
        )
        self.gates.setdefault(digest, {})[record.gate] = record

    def _deployed(self, body: Mapping[str, Any], ok: bool, digest: str, at: datetime) -> None:
        details: Mapping[str, Any] = body.get("details") or {}
        deployment = Deployment(
            env=body["env"],
            release=details.get("release", ""),
            digest=digest,
            actor=body["actor"],
            at=at,
            ok=ok,
            strategy=Strategy(details.get("strategy", "recreate")),
            details=dict(details),
        )
        self.deployments.append(deployment)
        if ok:
            self._make_current(deployment.env, deployment.release)

    def _make_current(self, env: str, release: str) -> None:
        if self.current.get(env) != release:
            self.lineage.setdefault(env, []).append(release)
        self.current[env] = release

    # -- queries -------------------------------------------------------------------------------

    def release(self, ref: str) -> Release:
        """A release by id, full digest, or an unambiguous digest prefix (``sha256:abc…``)."""
        if ref in self.releases:
            return self.releases[ref]
        matches = [
            r
            for r in self.releases.values()
            if r.digest == ref or (len(ref) >= 14 and r.digest.startswith(ref))
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UsageError(f"unknown release {ref!r}: run `riskctl history` to list releases")
        raise UsageError(f"ambiguous release {ref!r}: give more of the digest")

    def deployed_envs(self, digest: str) -> frozenset[str]:
        return frozenset(d.env for d in self.deployments if d.ok and d.digest == digest)

    def facts(self, release: Release, env: str, config: DeliveryConfig) -> DeployFacts:
        """The facts the policy engine needs to decide a deploy of ``release`` to ``env``."""
        return DeployFacts(
            release=release,
            author_identity=author_identity(config, release),
            gates=dict(self.gates.get(release.digest, {})),
            reviews=tuple(self.reviews.get(release.digest, ())),
            approvals=tuple(self.approvals.get(release.digest, ())),
            deployed_envs=self.deployed_envs(release.digest),
            previous_release=self.current.get(env),
        )

    def unsafe_rollback(self, env: str, to: str) -> Release | None:
        """The first release that became current in ``env`` after ``to`` last was and that
        declared an irreversible migration (rolling back past it is unsafe), else None."""
        chain = self.lineage.get(env, [])
        if to not in chain:
            return None
        last = len(chain) - 1 - chain[::-1].index(to)
        for rid in chain[last + 1 :]:
            release = self.releases.get(rid)
            if release is not None and not release.reversible:
                return release
        return None

    def commit_of(self, release_id: str) -> str | None:
        release = self.releases.get(release_id)
        return release.commit if release else None
