"""A transparency-log witness in the manner of C2SP tlog-witness (c2sp.org/tlog-witness).

For each log it is configured with (origin and the log's verifier key), it remembers the last
checkpoint it cosigned. ``add-checkpoint`` requests carry ``old SIZE``, a consistency proof from
that size, and the new signed checkpoint; the witness cosigns only when

- the checkpoint is signed by the configured log key (else 403),
- ``old`` is the size it last cosigned for that origin (else 409 with its size, so the client can
  retry from there), and at an equal size the root is the same (a fork is never cosigned),
- the RFC 6962 consistency proof verifies from its stored root to the new one (else 422).

Its key and state live in its own directory (never in ``$RISKCTL_HOME``): the point is that an
attacker who controls the log's home cannot rewrite what the witness remembers. Beyond the spec,
``latest(origin)`` returns the last cosigned checkpoint, so ``riskctl audit verify`` can detect a
log that was cut back behind the witness's view.

Errors (bad request, unknown log, bad signature, inconsistent) are :class:`Reply` values with
the spec's HTTP status, never exceptions.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from riskctl.audit import merkle
from riskctl.audit.note import (
    ALG_COSIGNATURE_V1,
    NoteError,
    Verifier,
    cosign,
    parse_checkpoint,
    split_note,
    verifier_for,
    verify_note,
)
from riskctl.signing import b64decode_strict, load_or_create_private_key

__all__ = ["MAX_REQUEST", "Reply", "Witness", "configure_logs", "load_witness_key"]

MAX_REQUEST = 64 * 1024
_MAX_PROOF = 63  # tlog-witness: a proof has at most 63 hashes
SIZE_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, body and its content type."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


def load_witness_key(home: Path, name: str) -> tuple[Ed25519PrivateKey, Verifier]:
    """The witness's private key in ``home/witness.key`` (created 0600 on first use) and its
    verifier; ``home/witness.vkey`` holds the public verifier key to pin in a policy."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = load_or_create_private_key(home / "witness.key")
    verifier = verifier_for(name, ALG_COSIGNATURE_V1, private)
    (home / "witness.vkey").write_text(verifier.vkey + "\n", encoding="utf-8")
    return private, verifier


def configure_logs(home: Path, given: Mapping[str, Verifier]) -> dict[str, Verifier]:
    """The logs this witness serves: those remembered in ``home/logs`` plus ``given`` (added
    there). A known origin under a different key is refused: re-keying a log at a witness is
    a deliberate act (edit ``logs``), never a side effect of a command line."""
    path = home / "logs"
    known: dict[str, Verifier] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                verifier = Verifier.parse(line)
                known[verifier.name] = verifier
    for origin, verifier in given.items():
        if origin in known and known[origin].vkey != verifier.vkey:
            raise ValueError(f"log {origin!r} is already witnessed under another key")
        known[origin] = verifier
    if not known:
        raise ValueError("no log to witness: pass --log ORIGIN+KEYID+BASE64")
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text("".join(f"{v.vkey}\n" for v in known.values()), encoding="utf-8")
    return known


class Witness:
    """The witness's decisions over its directory; thread-safe (one lock per witness)."""

    def __init__(
        self,
        home: Path,
        name: str,
        logs: Mapping[str, Verifier],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = home
        self.private, self.verifier = load_witness_key(home, name)
        self.logs = dict(logs)
        self.clock = clock
        self._state_path = home / "state.json"
        self._lock = threading.Lock()

    def _state(self) -> dict[str, dict[str, object]]:
        if not self._state_path.exists():
            return {}
        loaded: dict[str, dict[str, object]] = json.loads(self._state_path.read_text("utf-8"))
        return loaded

    def _save(self, state: Mapping[str, object]) -> None:
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self._state_path)  # atomic: a crash never leaves a half-written state

    def add_checkpoint(self, body: bytes) -> Reply:
        """Handle one ``POST /add-checkpoint`` body."""
        try:
            old, proof, note = _parse_request(body)
            text, _ = split_note(note)
            checkpoint = parse_checkpoint(text)
        except (NoteError, ValueError) as exc:
            return Reply(400, f"bad request: {exc}\n")
        log = self.logs.get(checkpoint.origin)
        if log is None:
            return Reply(404, f"unknown log {checkpoint.origin!r}\n")
        try:
            verify_note(note, log)
        except NoteError as exc:
            return Reply(403, f"checkpoint not signed by the log's key: {exc}\n")
        if old > checkpoint.size:
            return Reply(400, "old size is larger than the checkpoint's size\n")
        with self._lock:
            state = self._state()
            known = state.get(checkpoint.origin, {})
            size = int(str(known.get("size", 0)))
            if old != size:
                return Reply(409, f"{size}\n", SIZE_TYPE)
            if size:
                stored_root = b64decode_strict(str(known["root"]))
                if old == checkpoint.size:
                    if proof or stored_root != checkpoint.root:
                        return Reply(409, f"{size}\n", SIZE_TYPE)
                elif not merkle.verify_consistency(
                    old, checkpoint.size, stored_root, checkpoint.root, proof
                ):
                    return Reply(422, "the consistency proof does not verify (forked log?)\n")
            elif proof:
                return Reply(422, "no proof is expected from size 0\n")
            cosig = cosign(text, self.verifier.name, self.private, int(self.clock()))
            state[checkpoint.origin] = {
                "size": checkpoint.size,
                "root": base64.b64encode(checkpoint.root).decode(),
                "note": note,
                "cosignature": cosig.line,
            }
            self._save(state)
        return Reply(200, cosig.line)

    def latest(self, origin: str) -> Reply:
        """The last checkpoint cosigned for ``origin``: its signed note plus the cosignature."""
        known = self._state().get(origin)
        if known is None:
            return Reply(404, f"no checkpoint cosigned for {origin!r}\n")
        return Reply(200, f"{known['note']}{known['cosignature']}")


def _parse_request(body: bytes) -> tuple[int, list[bytes], str]:
    if len(body) > MAX_REQUEST:
        raise ValueError("request too large")
    text = body.decode("utf-8")
    head, sep, note = text.partition("\n")
    fields = head.split(" ")
    if not sep or len(fields) != 2 or fields[0] != "old" or not fields[1].isdigit():
        raise ValueError("the first line must be 'old SIZE'")
    if fields[1] != "0" and fields[1].startswith("0"):
        raise ValueError("old size has leading zeros")
    proof: list[bytes] = []
    while True:
        line, sep, note = note.partition("\n")
        if not sep:
            raise ValueError("missing blank line before the checkpoint")
        if not line:
            break
        if len(proof) == _MAX_PROOF:
            raise ValueError("consistency proof too long")
        node = b64decode_strict(line)
        if len(node) != 32:
            raise ValueError("a proof hash must be 32 bytes")
        proof.append(node)
    return int(fields[1]), proof, note
