"""Anchors outside ``$RISKCTL_HOME`` (issue 8, finding 4): the pinned audit key and witnesses.

- :func:`open_audit_key` refuses to mint a new audit key when the policy pins one, and refuses a
  home key that is not the pinned one: a deleted or swapped key can no longer re-sign history.
- :func:`cosign_latest` asks each pinned witness to cosign the latest checkpoint (C2SP
  tlog-witness ``add-checkpoint`` with an RFC 6962 consistency proof from the size it last
  cosigned) and keeps the verified cosignatures in the store. Bounded; never raises for a witness.
- :func:`verify_anchors` adds to :meth:`AuditLog.verify` what only the outside can tell: each
  witness's last cosigned checkpoint must be a prefix of the trail (a cut tail or a rewritten
  history under any key shows), and the latest checkpoint needs a quorum of cosignatures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization

from riskctl.audit import merkle
from riskctl.audit.actions import Action
from riskctl.audit.log import (
    CHECKPOINT_ORIGIN,
    AuditLog,
    Problem,
    Record,
    VerifyReport,
    checkpoint_note,
)
from riskctl.audit.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    NoteError,
    Verifier,
    parse_checkpoint,
    parse_cosignature,
    signature_line,
    split_note,
    verify_note,
)
from riskctl.audit.store import StoredCheckpoint, StoredCosignature
from riskctl.config import AuditAnchors
from riskctl.errors import AuditError, ConfigError
from riskctl.signing import KeyPair, b64decode_strict, load_or_create_key

if TYPE_CHECKING:
    from riskctl.witness.client import CosignOutcome

__all__ = [
    "Anchors",
    "PinnedWitness",
    "WitnessViews",
    "anchor_lines",
    "anchors_from_policy",
    "cosign_after_command",
    "cosign_latest",
    "log_verifier",
    "open_audit_key",
    "signed_checkpoint",
    "verify_anchors",
]


@dataclass(frozen=True)
class PinnedWitness:
    """A witness named in the policy: where to reach it and the key its cosignatures carry."""

    name: str
    url: str
    verifier: Verifier


@dataclass(frozen=True)
class Anchors:
    """The policy's pins, parsed."""

    log: Verifier | None = None
    witnesses: tuple[PinnedWitness, ...] = ()
    quorum: int = 0
    timeout_s: float = 3.0

    @property
    def anchored(self) -> bool:
        return self.log is not None and self.quorum > 0


def anchors_from_policy(policy: AuditAnchors) -> Anchors:
    """Parse the ``[audit]`` pins; a malformed key is a configuration error (exit 2)."""
    try:
        log = Verifier.parse(policy.public_key) if policy.public_key else None
        witnesses = tuple(
            PinnedWitness(w.name, w.url, Verifier.parse(w.public_key)) for w in policy.witnesses
        )
    except (NoteError, ValueError) as exc:
        raise ConfigError(f"audit: {exc}") from None
    if log is not None and (log.name != CHECKPOINT_ORIGIN or log.alg != ALG_ED25519):
        raise ConfigError(f"audit.public_key must be a {CHECKPOINT_ORIGIN} signer key (0x01)")
    for w in witnesses:
        if w.verifier.name != w.name or w.verifier.alg != ALG_COSIGNATURE_V1:
            raise ConfigError(f"audit.witnesses.{w.name}: public_key is not its cosigner key")
    quorum = policy.witness_quorum if policy.witness_quorum is not None else len(witnesses)
    return Anchors(log, witnesses, quorum, policy.witness_timeout_s)


def log_verifier(key: KeyPair) -> Verifier:
    """The audit key as a C2SP note verifier named after the checkpoint origin."""
    return Verifier(CHECKPOINT_ORIGIN, ALG_ED25519, key.public)


def _raw(verifier: Verifier) -> bytes:
    return verifier.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def open_audit_key(keys_dir: Path, anchors: Anchors) -> KeyPair:
    """The home's audit key; minted only when the policy pins none."""
    if anchors.log is None:
        return load_or_create_key(keys_dir, "audit")
    if not (keys_dir / "audit.key").exists():
        raise AuditError(
            "the policy pins an audit key but this home has none: refusing to mint a new one "
            "(a new key could re-sign a rewritten history); restore the audit key"
        )
    key = load_or_create_key(keys_dir, "audit")
    if _raw(log_verifier(key)) != _raw(anchors.log):
        raise AuditError(
            "this home's audit key is not the key the policy pins: refusing to sign or verify "
            "with it; restore the pinned audit key"
        )
    return key


def signed_checkpoint(cp: StoredCheckpoint, log: Verifier) -> tuple[str, str]:
    """(checkpoint text, signed note) of a stored checkpoint: its signature is already an
    Ed25519 signature over the note text, so only the C2SP framing is added."""
    text = checkpoint_note(cp.tree_size, cp.root_hash, cp.created_at).decode()
    blob = log.key_id + b64decode_strict(cp.signature)
    return text, f"{text}\n{signature_line(log.name, blob)}"


def cosign_latest(
    log: AuditLog, anchors: Anchors, only: Collection[str] | None = None
) -> list[CosignOutcome]:
    """Ask the pinned witnesses (or ``only`` those named) to cosign the latest checkpoint."""
    checkpoints = log.store.checkpoints()
    if not checkpoints or not anchors.witnesses:
        return []
    cp = checkpoints[-1]
    leaves = [bytes.fromhex(e.leaf_hash) for e in log.store.entries()][: cp.tree_size]
    text, note = signed_checkpoint(cp, log_verifier(log.key))
    kept = log.store.cosignatures()
    outcomes = []
    for w in anchors.witnesses:
        if only is not None and w.name not in only:
            continue
        old = max(
            (c.tree_size for c in kept if c.witness == w.name and c.tree_size <= cp.tree_size),
            default=0,
        )
        outcome = _ask(w, note, text, old=old, leaves=leaves, timeout=anchors.timeout_s)
        size = outcome.witness_size
        if outcome.cosignature is None and size is not None and old != size <= cp.tree_size:
            # The witness is behind or ahead of what we kept: retry once from its size.
            outcome = _ask(w, note, text, old=size, leaves=leaves, timeout=anchors.timeout_s)
        if outcome.cosignature is not None:
            log.store.add_cosignature(
                StoredCosignature(cp.tree_size, cp.root_hash, w.name, outcome.cosignature.line)
            )
        outcomes.append(outcome)
    return outcomes


def cosign_after_command(log: AuditLog, anchors: Anchors, now: datetime) -> dict[str, str]:
    """Have the pinned witnesses cosign the latest checkpoint; returns {witness: error} for
    those that did not. Failures are recorded (``witness.failed``), and that entry is
    checkpointed and cosigned by the witnesses that answered, so the trail says who was down."""
    outcomes = cosign_latest(log, anchors)
    failed = {o.witness: o.error for o in outcomes if o.cosignature is None}
    if failed:
        log.append([Record(Action.WITNESS_FAILED, "riskctl", now, details={"witnesses": failed})])
        log.checkpoint(now)
        cosign_latest(log, anchors, only={o.witness for o in outcomes} - set(failed))
    return failed


def _ask(
    w: PinnedWitness, note: str, text: str, *, old: int, leaves: Sequence[bytes], timeout: float
) -> CosignOutcome:
    from riskctl.witness.client import add_checkpoint  # noqa: PLC0415 - httpx only when a witness is asked

    proof = merkle.consistency_proof(old, leaves) if 0 < old < len(leaves) else []
    return add_checkpoint(w.url, w.verifier, note, text, old=old, proof=proof, timeout=timeout)


def verify_anchors(log: AuditLog, anchors: Anchors, report: VerifyReport) -> VerifyReport:
    """``report`` plus the witnesses' view: truncation, rewrites and the cosignature quorum."""
    notes = []
    if anchors.log is None:
        notes.append(
            "the audit key is NOT pinned ([audit] public_key): whoever holds this home could "
            "re-key it and re-sign a rewritten history"
        )
    if not anchors.witnesses:
        notes.append(
            "the trail is NOT anchored: no witnesses are pinned ([[audit.witnesses]]), so "
            "whoever holds this home could cut its tail or rewrite it unnoticed"
        )
        return dataclasses.replace(report, anchored=False, notes=tuple(notes))
    from riskctl.witness.client import latest_checkpoint  # noqa: PLC0415 - httpx only when a witness is asked

    # The witnesses first, the store after: a command that appends and is cosigned meanwhile
    # then only makes the store longer than a witness's view, never shorter (no false alarm).
    views = {w.name: latest_checkpoint(w.url, CHECKPOINT_ORIGIN, anchors.timeout_s)
             for w in anchors.witnesses}  # fmt: skip
    leaves = [bytes.fromhex(e.leaf_hash) for e in log.store.entries()]
    checkpoints = log.store.checkpoints()
    latest = checkpoints[-1] if checkpoints else None
    verifier = anchors.log or log_verifier(log.key)
    latest_text = signed_checkpoint(latest, verifier)[0] if latest else ""
    problems: list[Problem] = []
    statuses: list[dict[str, Any]] = []
    cosigned = 0
    stored = [
        c
        for c in log.store.cosignatures()
        if latest and (c.tree_size, c.root_hash) == (latest.tree_size, latest.root_hash)
    ]
    for w in anchors.witnesses:
        status: dict[str, Any] = {"name": w.name, "url": w.url}
        has = any(_valid(c.line, latest_text, w) for c in stored if c.witness == w.name)
        seen, error = views[w.name]
        if seen is None:
            status["latest"] = None
            status["error"] = error
        else:
            size, live, problem = _check_witness_view(seen, w, verifier, leaves)
            status["latest"] = size
            if problem:
                problems.append(problem)
            if latest is not None and live and size == latest.tree_size:
                has = has or live == latest_text
        status["cosigned_latest"] = has
        cosigned += has
        statuses.append(status)
    if latest is None and leaves:
        problems.append(Problem(None, "no checkpoint: nothing in the trail is witnessed"))
    elif latest is not None and cosigned < anchors.quorum:
        problems.append(
            Problem(
                None,
                f"the latest checkpoint (size {latest.tree_size}) has {cosigned} witness "
                f"cosignature(s); the policy requires {anchors.quorum}",
            )
        )
    merged = sorted([*report.problems, *problems], key=lambda p: (p.seq is None, p.seq or 0))
    return dataclasses.replace(
        report,
        problems=tuple(merged),
        anchored=anchors.anchored,
        witnesses=tuple(statuses),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class WitnessViews:
    """Before a decision folds the trail: each reachable witness's last cosigned checkpoint must
    be a prefix of it (a cut tail or a rewrite is refused before it can change a decision).
    A witness that does not answer is skipped here: it never blocks a command."""

    anchors: Anchors
    log: Verifier

    def views(self) -> dict[str, str]:
        from riskctl.witness.client import latest_checkpoint  # noqa: PLC0415 - httpx only when a witness is asked

        found = {}
        for w in self.anchors.witnesses:
            seen, _ = latest_checkpoint(w.url, CHECKPOINT_ORIGIN, self.anchors.timeout_s)
            if seen is not None:
                found[w.name] = seen
        return found

    def problems(self, views: dict[str, str], leaves: Sequence[bytes]) -> list[Problem]:
        found = []
        for w in self.anchors.witnesses:
            if w.name in views:
                problem = _check_witness_view(views[w.name], w, self.log, leaves)[2]
                if problem is not None:
                    found.append(problem)
        return found


def _valid(line: str, text: str, w: PinnedWitness) -> bool:
    try:
        parse_cosignature(line, text, w.verifier)
    except NoteError:
        return False
    return True


def _check_witness_view(
    seen: str, w: PinnedWitness, log: Verifier, leaves: Sequence[bytes]
) -> tuple[int | None, str, Problem | None]:
    """(size, checkpoint text if its cosignature verifies, a problem) for a witness's answer."""
    try:
        text, _ = split_note(seen)
        cp = parse_checkpoint(text)
        lines = [ln for ln in seen[len(text) + 1 :].splitlines() if f" {w.name} " in ln]
        if not lines or not _valid(lines[-1], text, w):
            raise NoteError("its answer carries no valid cosignature of its own")
    except NoteError as exc:
        return None, "", Problem(None, f"witness {w.name}: unusable answer ({exc})")
    try:
        verify_note(seen, log)
    except NoteError:
        return (
            cp.size,
            "",
            Problem(
                None,
                f"witness {w.name} cosigned a checkpoint of size {cp.size} under a different audit "
                "key: the trail was re-keyed and rewritten",
            ),
        )
    if cp.size > len(leaves):
        return (
            cp.size,
            text,
            Problem(
                len(leaves) + 1,
                f"log truncated: witness {w.name} cosigned {cp.size} entries, "
                f"only {len(leaves)} remain",
            ),
        )
    if merkle.root(leaves[: cp.size]) != cp.root:
        return (
            cp.size,
            text,
            Problem(
                None,
                f"history rewritten: entries #1-#{cp.size} do not match the checkpoint "
                f"witness {w.name} cosigned",
            ),
        )
    return cp.size, text, None


def anchor_lines(report: VerifyReport) -> list[str]:
    """Human lines for ``audit verify``: the notes, then each witness's view."""
    lines = list(report.notes)
    for w in report.witnesses:
        seen = (
            "unreachable: " + str(w.get("error"))
            if w.get("latest") is None
            else (f"last cosigned size {w['latest']}")
        )
        mark = "cosigned" if w.get("cosigned_latest") else "NOT cosigned"
        lines.append(f"witness {w['name']}: latest checkpoint {mark}; {seen}")
    return lines
