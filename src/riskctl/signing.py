"""Ed25519 keys under ``$RISKCTL_HOME/keys`` and DSSE envelopes (DSSE v1 protocol).

Private keys are created with mode 0600 and never printed or logged; only key ids (a digest of the
public key) appear in output.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "INTOTO_PAYLOAD_TYPE",
    "KeyPair",
    "b64decode_strict",
    "dsse_sign",
    "dsse_verify",
    "key_id",
    "load_or_create_key",
    "load_public_key",
    "pae",
]

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable id: the first 16 hex digits of SHA-256 over the raw public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class KeyPair:
    """A private key and its id (the public half is derived)."""

    private: Ed25519PrivateKey
    id: str

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in PEM file ``path``, created (0600, exclusively) if absent.

    Shared by the audit key and a witness's key: one way to hold a signing key on disk."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 key")
        return loaded
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return private


def load_or_create_key(keys_dir: Path, name: str) -> KeyPair:
    """Load ``keys_dir/name.key`` or create it (0600) with its ``.pub`` beside it."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path = keys_dir / f"{name}.key"
    public_path = keys_dir / f"{name}.pub"
    private = load_or_create_private_key(private_path)
    if not public_path.exists():
        public_path.write_bytes(
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return KeyPair(private, key_id(private.public_key()))


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a PEM public key."""
    loaded = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(loaded, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return loaded


def b64decode_strict(text: object) -> bytes:
    """Standard base64 (RFC 4648 §4) decoded strictly: only the canonical encoding is accepted.

    ``base64.b64decode(validate=True)`` still accepts non-zero padding bits (``"AB=="`` and
    ``"AA=="`` both decode to ``b"\\x00"``), so one signature would have several valid spellings;
    re-encoding and comparing refuses all but one (signature malleability, cf. C2SP signed-note).
    """
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("base64 value must be an ASCII string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise ValueError("invalid base64") from None
    if base64.b64encode(raw).decode() != text:
        raise ValueError("non-canonical base64 encoding")
    return raw


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: ``DSSEv1 SP len(type) SP type SP len(body) SP body``."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def dsse_sign(payload: bytes, key: KeyPair, payload_type: str = INTOTO_PAYLOAD_TYPE) -> bytes:
    """A DSSE envelope (JSON bytes) carrying ``payload`` signed by ``key``."""
    signature = key.sign(pae(payload_type, payload))
    envelope = {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": key.id, "sig": base64.b64encode(signature).decode()}],
    }
    return json.dumps(envelope, indent=2, sort_keys=True).encode() + b"\n"


def dsse_verify(envelope: bytes, public: Ed25519PublicKey) -> dict[str, Any]:
    """Verify a DSSE envelope and return its decoded JSON payload; raise ``ValueError`` if bad."""
    try:
        data = json.loads(envelope)
        payload = b64decode_strict(data["payload"])
        payload_type = data["payloadType"]
        signatures = data["signatures"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"malformed DSSE envelope: {exc}") from None
    message = pae(payload_type, payload)
    wanted = key_id(public)
    for sig in signatures:
        if sig.get("keyid") not in (wanted, "", None):
            continue
        try:
            public.verify(b64decode_strict(sig["sig"]), message)
        except (InvalidSignature, ValueError, KeyError):
            continue
        result: dict[str, Any] = json.loads(payload)
        return result
    raise ValueError("no valid signature in DSSE envelope")
