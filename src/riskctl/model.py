"""Domain values shared by the policy engine, the ledger and the CLI (all frozen)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "Approval",
    "ChangeClass",
    "Deployment",
    "GateRecord",
    "GateStatus",
    "Release",
    "Review",
    "Role",
    "Strategy",
]


class Role(enum.StrEnum):
    """Roles an identity can hold (SPEC §4, identities and roles)."""

    ENGINEER = "engineer"
    QA = "qa"
    RISK = "risk"
    SRE = "sre"
    RELEASE_MANAGER = "release-manager"
    # Pins the policy in force (riskctl policy pin); holds no delivery rights by itself.
    ADMIN = "admin"


class Strategy(enum.StrEnum):
    """Deployment strategies; the local target of this issue implements ``recreate``."""

    RECREATE = "recreate"
    BLUEGREEN = "bluegreen"
    CANARY = "canary"


class GateStatus(enum.StrEnum):
    """A gate's verdict. ``unavailable`` is never a pass: policy decides whether to tolerate it."""

    PASSED = "passed"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"


class ChangeClass(enum.StrEnum):
    """``calculation`` changes touch configured calculation paths and take the full path."""

    CALCULATION = "calculation"
    STANDARD = "standard"


@dataclass(frozen=True)
class Release:
    """One immutable build: what was built, from which commit, by whom."""

    id: str
    digest: str
    commit: str
    author: str
    author_email: str
    version: str
    built_at: datetime
    dirty: bool = False
    change_class: ChangeClass = ChangeClass.CALCULATION
    changed_files: tuple[str, ...] = ()
    calculation_files: tuple[str, ...] = ()
    base_release: str | None = None
    wheel: str = ""
    # Declared in the release's declarations file (riskctl.declarations), covered by the digest.
    model_change_impact: float | None = None
    model_change_reason: str = ""
    reversible: bool = True
    irreversible_reason: str = ""
    # The proven identity that ran the build (a dirty build's changes are theirs).
    builder: str = ""


@dataclass(frozen=True)
class GateRecord:
    """The latest result of one gate for one release digest."""

    gate: str
    status: GateStatus
    digest: str
    duration_s: float = 0.0
    log_digest: str = ""
    summary: str = ""
    # Digest of the gate's definition it ran under (riskctl.trust.gate_spec_digest).
    spec_digest: str = ""


@dataclass(frozen=True)
class Approval:
    """An approval of a release for an environment (or a break-glass approval)."""

    actor: str
    roles: frozenset[Role]
    env: str
    digest: str
    at: datetime
    break_glass: bool = False
    # The signed statement (a DSSE envelope) that makes it count; see riskctl.trust.
    statement: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class Review:
    """A code review of a release's changes."""

    actor: str
    digest: str
    at: datetime
    statement: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class Deployment:
    """A completed deploy (``ok``) or a failed one that was rolled back."""

    env: str
    release: str
    digest: str
    actor: str
    at: datetime
    ok: bool
    strategy: Strategy = Strategy.RECREATE
    details: dict[str, object] = field(default_factory=dict, compare=False)
