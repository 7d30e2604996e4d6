"""The tamper-evident audit log: signed entries in an RFC 6962 Merkle tree, signed checkpoints.

Each entry is canonical JSON carrying its own ``seq``; its leaf hash is ``H(0x00 ‖ body)`` and it is
signed with the audit key. After each command a checkpoint signs the tree head (size, root). Each
checkpoint is also appended to a witness file under ``$RISKCTL_HOME``, so deleting entries *and*
checkpoints from the store is still detected. :meth:`AuditLog.verify` recomputes everything and
names the first bad entry.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from riskctl.audit import merkle
from riskctl.audit.actions import Action, checked_for_writing
from riskctl.audit.store import AuditStore, StoredCheckpoint, StoredEntry
from riskctl.errors import AuditUnverifiedError
from riskctl.signing import KeyPair, b64decode_strict

__all__ = ["AuditLog", "Record", "VerifyReport", "canonical_json"]

ENTRY_CONTEXT = b"riskctl-audit-entry/v1\n"
CHECKPOINT_ORIGIN = "riskctl-audit/v1"


def canonical_json(value: Mapping[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8: the bytes that are hashed and signed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _utc(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Record:
    """What happened: who did what, when (UTC), to which release, under which policy.

    ``action`` is an :class:`~riskctl.audit.actions.Action` (or its value, until every caller
    passes the member); :meth:`AuditLog.append` refuses any other name.
    """

    action: Action | str
    actor: str
    at: datetime
    release: str | None = None
    env: str | None = None
    policy_digest: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def body(self, seq: int) -> dict[str, Any]:
        return {
            "seq": seq,
            "time": _utc(self.at),
            "actor": self.actor,
            "action": str(self.action),
            "release": self.release,
            "env": self.env,
            "policy_digest": self.policy_digest,
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class Problem:
    """One verification failure; ``seq`` is the entry it concerns when there is one."""

    seq: int | None
    message: str


@dataclass(frozen=True)
class VerifyReport:
    """The result of :meth:`AuditLog.verify`."""

    entries: int
    checkpoints: int
    root: str
    problems: tuple[Problem, ...]
    unanchored: int = 0
    # Filled in by riskctl.audit.anchors.verify_anchors: whether the policy pins the trail,
    # each witness's view, and plain-language notes (e.g. "NOT anchored").
    anchored: bool | None = None
    witnesses: tuple[Mapping[str, Any], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_entry(self) -> int | None:
        seqs = [p.seq for p in self.problems if p.seq is not None]
        return min(seqs) if seqs else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "root": self.root,
            "first_bad_entry": self.first_bad_entry,
            "unanchored_entries": self.unanchored,
            "problems": [{"entry": p.seq, "message": p.message} for p in self.problems],
            "anchored": self.anchored,
            "witnesses": [dict(w) for w in self.witnesses],
            "notes": list(self.notes),
        }


def checkpoint_note(tree_size: int, root_hex: str, created_at: str) -> bytes:
    """The signed text of a checkpoint (in the spirit of C2SP signed notes)."""
    root_b64 = base64.b64encode(bytes.fromhex(root_hex)).decode()
    return f"{CHECKPOINT_ORIGIN}\n{tree_size}\n{root_b64}\n{created_at}\n".encode()


class OutsideView(Protocol):
    """Views of the trail kept outside the home (the witnesses), checked before folding."""

    def views(self) -> Any:
        """Fetch the outside views (before the store is read)."""
        ...

    def problems(self, views: Any, leaves: Sequence[bytes]) -> list[Problem]:
        """What in ``leaves`` contradicts ``views`` (a cut tail, a rewritten history)."""
        ...


class AuditLog:
    """Appends signed entries to an :class:`AuditStore` and verifies the whole log."""

    def __init__(
        self,
        store: AuditStore,
        key: KeyPair,
        witness: Path,
        trusted: Mapping[str, Ed25519PublicKey] | None = None,
    ) -> None:
        self.store = store
        self.key = key
        self.witness = witness
        self.trusted: dict[str, Ed25519PublicKey] = {key.id: key.public, **(trusted or {})}
        self._lock = threading.Lock()
        # Display only (the read-only dashboard, which shows verification beside what it folds):
        # fold a trail even when it does not verify. Never set where a decision is taken.
        self.display_only = False
        # Set by riskctl.audit.anchors when witnesses are pinned: what the outside remembers
        # (a witness's last cosigned tree) must be a prefix of what is folded.
        self.outside: OutsideView | None = None
        self._outside_checked = False

    # -- writing -----------------------------------------------------------------------------

    def append(self, records: Sequence[Record]) -> list[dict[str, Any]]:
        """Append ``records`` atomically (all or none) and return their bodies.

        Raises :class:`~riskctl.audit.actions.UnknownActionError` (nothing appended) when a
        record's action is not a member of :class:`~riskctl.audit.actions.Action`.
        """
        records = [replace(r, action=checked_for_writing(r.action)) for r in records]

        def make(size: int) -> list[StoredEntry]:
            rows = []
            for offset, record in enumerate(records, start=1):
                body = canonical_json(record.body(size + offset))
                data = body.encode()
                rows.append(
                    StoredEntry(
                        seq=size + offset,
                        body=body,
                        leaf_hash=merkle.leaf_hash(data).hex(),
                        key_id=self.key.id,
                        signature=base64.b64encode(self.key.sign(ENTRY_CONTEXT + data)).decode(),
                    )
                )
            return rows

        with self._lock:
            rows = self.store.append(make)
        return [json.loads(r.body) for r in rows]

    def checkpoint(self, now: datetime) -> StoredCheckpoint | None:
        """Sign the current tree head, store it and append it to the witness file."""
        with self._lock:
            leaves = [bytes.fromhex(e.leaf_hash) for e in self.store.entries()]
            previous = self.store.checkpoints()
            if previous and previous[-1].tree_size == len(leaves):
                return None
            if not leaves:
                return None
            root_hex = merkle.root(leaves).hex()
            created = _utc(now)
            note = checkpoint_note(len(leaves), root_hex, created)
            cp = StoredCheckpoint(
                tree_size=len(leaves),
                root_hash=root_hex,
                created_at=created,
                key_id=self.key.id,
                signature=base64.b64encode(self.key.sign(note)).decode(),
            )
            self.store.add_checkpoint(cp)
            self.witness.parent.mkdir(parents=True, exist_ok=True)
            with self.witness.open("a", encoding="utf-8") as fh:
                fh.write(canonical_json(cp.__dict__) + "\n")
            return cp

    # -- reading -----------------------------------------------------------------------------

    def bodies(self) -> list[dict[str, Any]]:
        """Every entry's parsed body, in order, only after the whole trail verified.

        Verified before folded (issue 8, finding 5): every entry's signature under a trusted key,
        no gap, and the signed checkpoints' roots over the entries they cover. Entries after the
        last checkpoint (a command still running, or one that died before its checkpoint) are
        folded only because each carries a valid signature. Anything else raises
        :class:`AuditUnverifiedError` before any decision sees a single entry.
        """
        if self.display_only:
            return self.unverified_bodies()
        outside = self.outside if not self._outside_checked else None
        views = outside.views() if outside is not None else None  # before the store: no race
        rows = self.store.entries()
        report = self.verify(rows)
        problems = list(report.problems)
        if outside is not None:
            problems += outside.problems(views, [bytes.fromhex(r.leaf_hash) for r in rows])
        if problems:
            first = min((p.seq for p in problems if p.seq is not None), default=None)
            where = f" (first bad entry #{first})" if first else ""
            shown = "; ".join(p.message for p in problems[:3])
            raise AuditUnverifiedError(
                f"the audit trail does not verify{where}: {shown}; nothing was decided from it. "
                "Run `riskctl audit verify` for the full report"
            )
        # The witnesses are asked once per command: later folds see this command's own appends.
        self._outside_checked = True
        return [json.loads(row.body) for row in rows]

    def unverified_bodies(self) -> list[dict[str, Any]]:
        """Every parseable entry's body, for display only (never for a decision)."""
        out = []
        for row in self.store.entries():
            try:
                out.append(json.loads(row.body))
            except ValueError:
                continue
        return out

    def _witnessed(self) -> list[StoredCheckpoint]:
        if not self.witness.exists():
            return []
        found = []
        for line in self.witness.read_text(encoding="utf-8").splitlines():
            try:
                found.append(StoredCheckpoint(**json.loads(line)))
            except (ValueError, TypeError):
                continue
        return found

    def _check_entry(self, row: StoredEntry, problems: list[Problem]) -> bytes:
        data = row.body.encode()
        leaf = merkle.leaf_hash(data)
        try:
            claimed = json.loads(row.body).get("seq")
        except (ValueError, AttributeError):
            claimed = None
        if claimed != row.seq:
            problems.append(
                Problem(row.seq, f"entry #{row.seq} carries seq {claimed} (moved or reordered)")
            )
        if leaf.hex() != row.leaf_hash:
            problems.append(Problem(row.seq, f"entry #{row.seq} does not match its leaf hash"))
        public = self.trusted.get(row.key_id)
        try:
            if public is None:
                raise InvalidSignature
            public.verify(b64decode_strict(row.signature), ENTRY_CONTEXT + data)
        except (InvalidSignature, ValueError):
            problems.append(
                Problem(row.seq, f"entry #{row.seq} has no valid signature (edited or forged)")
            )
        return leaf

    def _check_checkpoint(self, cp: StoredCheckpoint) -> bool:
        public = self.trusted.get(cp.key_id)
        if public is None:
            return False
        try:
            public.verify(
                b64decode_strict(cp.signature),
                checkpoint_note(cp.tree_size, cp.root_hash, cp.created_at),
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def verify(self, rows: Sequence[StoredEntry] | None = None) -> VerifyReport:
        """Check every entry, the tree, each checkpoint's signature and their consistency."""
        if rows is None:
            rows = self.store.entries()
        problems: list[Problem] = []
        leaves: list[bytes] = []
        expected = 1
        for row in rows:
            if row.seq > expected:
                last = row.seq - 1
                span = f"#{expected}" if last == expected else f"#{expected}-#{last}"
                problems.append(Problem(expected, f"entry {span} missing (deleted)"))
            elif row.seq < expected:
                problems.append(Problem(row.seq, f"entry #{row.seq} duplicated or out of order"))
            leaves.append(self._check_entry(row, problems))
            expected = max(expected, row.seq + 1)

        stored = self.store.checkpoints()
        stored_keys = {(c.tree_size, c.root_hash) for c in stored}
        witnessed = self._witnessed()
        for cp in witnessed:
            if (cp.tree_size, cp.root_hash) not in stored_keys:
                problems.append(
                    Problem(
                        None,
                        f"checkpoint of size {cp.tree_size} is in the witness file but not in "
                        "the store (store rolled back or checkpoints deleted)",
                    )
                )
        merged: dict[tuple[int, str], StoredCheckpoint] = {}
        for cp in [*stored, *witnessed]:
            merged.setdefault((cp.tree_size, cp.root_hash), cp)
        ordered = sorted(merged.values(), key=lambda c: (c.tree_size, c.created_at))
        problems.extend(self._check_tree(ordered, leaves, precise=bool(problems)))
        anchored = ordered[-1].tree_size if ordered else 0
        problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
        return VerifyReport(
            entries=len(rows),
            checkpoints=len(ordered),
            root=merkle.root(leaves).hex(),
            problems=tuple(problems),
            unanchored=max(0, len(leaves) - anchored),
        )

    def _check_tree(
        self, checkpoints: Iterable[StoredCheckpoint], leaves: list[bytes], *, precise: bool
    ) -> list[Problem]:
        """Tree-level checks. A root mismatch only bounds where the damage is, so it names an
        entry only when no entry-level check already pinpointed one (``precise``)."""
        problems: list[Problem] = []
        previous: StoredCheckpoint | None = None
        for cp in checkpoints:
            if not self._check_checkpoint(cp):
                problems.append(Problem(None, f"checkpoint of size {cp.tree_size}: bad signature"))
                continue
            if cp.tree_size > len(leaves):
                problems.append(
                    Problem(
                        len(leaves) + 1,
                        f"log truncated: checkpoint covers {cp.tree_size} entries, "
                        f"only {len(leaves)} remain",
                    )
                )
                continue
            if merkle.root(leaves[: cp.tree_size]).hex() != cp.root_hash:
                start = previous.tree_size + 1 if previous else 1
                problems.append(
                    Problem(
                        None if precise else start,
                        f"entries #{start}-#{cp.tree_size} do not match the signed root of "
                        f"checkpoint {cp.tree_size}",
                    )
                )
                continue
            if previous is not None and previous.tree_size < cp.tree_size:
                proof = merkle.consistency_proof(previous.tree_size, leaves[: cp.tree_size])
                if not merkle.verify_consistency(
                    previous.tree_size,
                    cp.tree_size,
                    bytes.fromhex(previous.root_hash),
                    bytes.fromhex(cp.root_hash),
                    proof,
                ):
                    problems.append(
                        Problem(
                            previous.tree_size + 1,
                            f"checkpoints {previous.tree_size} and {cp.tree_size} "
                            "are not consistent",
                        )
                    )
            previous = cp
        return problems
