"""Signed notes, checkpoints and cosignatures in the C2SP formats (pure, no I/O).

- signed-note (c2sp.org/signed-note): a note is UTF-8 text ending in a newline, then a blank line,
  then signature lines ``— NAME base64(key id ‖ signature)``. An Ed25519 key's id is the first four
  bytes of ``SHA-256(NAME ‖ 0x0A ‖ 0x01 ‖ public key)``; its verifier key is written
  ``NAME+hex(key id)+base64(0x01 ‖ public key)``.
- tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text is ``origin``, the tree size in
  decimal and the base64 root hash, one per line, then optional extension lines (riskctl adds the
  checkpoint's UTC time).
- tlog-cosignature (c2sp.org/tlog-cosignature), version 1: a witness signs
  ``"cosignature/v1\\ntime " ‖ decimal timestamp ‖ "\\n" ‖ checkpoint text`` with Ed25519; its key
  id uses the type byte 0x04 and the signature line carries ``key id ‖ timestamp (8 bytes, big
  endian) ‖ signature``.

Every base64 value is decoded strictly (only the canonical encoding), and every malformed input
raises :class:`NoteError` (a ``ValueError``).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from riskctl.signing import b64decode_strict

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "Checkpoint",
    "Cosignature",
    "NoteError",
    "Verifier",
    "checkpoint_text",
    "cosign",
    "cosignature_line",
    "parse_checkpoint",
    "parse_cosignature",
    "sign_note",
    "signature_line",
    "split_note",
    "verifier_for",
    "verify_note",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_DASH = "\u2014"  # the em dash that starts every signature line
_MAX_NOTE = 64 * 1024


class NoteError(ValueError):
    """A note, checkpoint, signature line or verifier key is malformed or does not verify."""


def _b64(text: str) -> bytes:
    try:
        return b64decode_strict(text)
    except ValueError as exc:
        raise NoteError(str(exc)) from None


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        raise NoteError(f"invalid key name {name!r} (no spaces, no '+')")
    return name


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_id(name: str, alg: int, raw: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + raw).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key of one kind (note signer 0x01 or cosigner 0x04)."""

    name: str
    alg: int
    public: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, self.alg, _raw(self.public))

    @property
    def vkey(self) -> str:
        """``NAME+hex(key id)+base64(alg ‖ key)``: the text to pin in a policy."""
        blob = base64.b64encode(bytes([self.alg]) + _raw(self.public)).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Parse a verifier key; its key id must match the name and key it carries."""
        parts = vkey.strip().split("+", 2)  # the base64 key may itself contain '+'
        if len(parts) != 3:
            raise NoteError("a verifier key is NAME+KEYID+BASE64")
        name, hex_id, blob = parts
        _check_name(name)
        raw = _b64(blob) if blob else b""
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise NoteError("a verifier key must hold an Ed25519 key (type 0x01 or 0x04)")
        public = Ed25519PublicKey.from_public_bytes(raw[1:])
        found = cls(name, raw[0], public)
        if hex_id != found.key_id.hex():
            raise NoteError(f"verifier key {name!r}: key id does not match the key")
        return found


def verifier_for(name: str, alg: int, private: Ed25519PrivateKey) -> Verifier:
    """The verifier of ``private`` under ``name`` for signatures of kind ``alg``."""
    return Verifier(_check_name(name), alg, private.public_key())


# -- signed notes -----------------------------------------------------------------------------


def sign_note(text: str, name: str, private: Ed25519PrivateKey) -> str:
    """``text`` followed by a blank line and one Ed25519 signature line."""
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    verifier = verifier_for(name, ALG_ED25519, private)
    sig = private.sign(text.encode())
    return f"{text}\n{signature_line(name, verifier.key_id + sig)}"


def signature_line(name: str, blob: bytes) -> str:
    return f"{_DASH} {name} {base64.b64encode(blob).decode()}\n"


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """(text, [(name, decoded signature blob)]) of a signed note; strict about its shape."""
    if len(note) > _MAX_NOTE:
        raise NoteError("note too large")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("a signed note is text, a blank line, then signature lines")
    text, sigs = note[: cut + 1], note[cut + 2 :]
    found = []
    for line in sigs.splitlines():
        name, blob = _parse_signature_line(line)
        found.append((name, blob))
    if not found:
        raise NoteError("a signed note needs at least one signature line")
    return text, found


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != _DASH:
        raise NoteError("a signature line is '— NAME BASE64'")
    return _check_name(parts[1]), _b64(parts[2])


def verify_note(note: str, verifier: Verifier) -> str:
    """The text of ``note`` if it carries a valid signature by ``verifier``; else NoteError."""
    text, sigs = split_note(note)
    for name, blob in sigs:
        if name != verifier.name or blob[:4] != verifier.key_id or len(blob) != 68:
            continue
        try:
            verifier.public.verify(blob[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature by {name} does not verify") from None
        return text
    raise NoteError(f"the note carries no signature by {verifier.name}")


# -- checkpoints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The body of a checkpoint: origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return checkpoint_text(self.origin, self.size, self.root, self.extensions)


def checkpoint_text(origin: str, size: int, root: bytes, extensions: tuple[str, ...] = ()) -> str:
    lines = [origin, str(size), base64.b64encode(root).decode(), *extensions]
    return "".join(f"{line}\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint text (without signatures); strict decimal size and 32-byte root."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise NoteError("a checkpoint is origin, size and root hash, one per non-empty line")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError("checkpoint size must be a decimal number without leading zeros")
    root = _b64(root_text)
    if len(root) != 32:
        raise NoteError("checkpoint root hash must be 32 bytes")
    return Checkpoint(origin, int(size_text), root, tuple(lines[3:-1]))


# -- cosignatures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cosignature:
    """One witness's cosignature on a checkpoint text, at ``timestamp`` (Unix seconds)."""

    name: str
    timestamp: int
    line: str


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(text: str, name: str, private: Ed25519PrivateKey, timestamp: int) -> Cosignature:
    """Cosign checkpoint ``text`` as witness ``name`` at ``timestamp``."""
    verifier = verifier_for(name, ALG_COSIGNATURE_V1, private)
    sig = private.sign(_cosigned_message(text, timestamp))
    blob = verifier.key_id + timestamp.to_bytes(8, "big") + sig
    return Cosignature(name, timestamp, signature_line(name, blob))


def cosignature_line(cosig: Cosignature) -> str:
    return cosig.line


def parse_cosignature(line: str, text: str, verifier: Verifier) -> Cosignature:
    """The cosignature in ``line`` on checkpoint ``text`` by ``verifier``; else NoteError."""
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise NoteError(f"{verifier.name}: not a cosigner key (type 0x04)")
    name, blob = _parse_signature_line(line.rstrip("\n"))
    if name != verifier.name or len(blob) != 4 + 8 + 64 or blob[:4] != verifier.key_id:
        raise NoteError(f"not a cosignature by {verifier.name}")
    timestamp = int.from_bytes(blob[4:12], "big")
    try:
        verifier.public.verify(blob[12:], _cosigned_message(text, timestamp))
    except InvalidSignature:
        raise NoteError(f"the cosignature by {verifier.name} does not verify") from None
    return Cosignature(name, timestamp, line.rstrip("\n") + "\n")
