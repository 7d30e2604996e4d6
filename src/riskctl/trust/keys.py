"""People's signing keys: OpenSSH ``ssh-ed25519`` public lines in the policy, private keys on disk.

The policy lists each identity's public keys in the format git and GitHub use for SSH signing
(``ssh-ed25519 AAAA… comment``). A person's private key is found, in order, at ``--key FILE``,
``$RISKCTL_SIGNING_KEY`` (a path) or ``$RISKCTL_KEYRING/NAME`` (a directory of private keys).
Private keys are never printed or logged; a key file readable by group or others is refused, as
ssh refuses it.

::

    IdentityError (PolicyRefusedError, exit 3)   no key, a wrong key, an unknown identity
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from riskctl.errors import PolicyRefusedError, UsageError
from riskctl.signing import KeyPair, key_id

__all__ = [
    "IdentityError",
    "find_private_key",
    "fingerprint",
    "generate_key",
    "matches",
    "parse_public_key",
    "public_line",
]


class IdentityError(PolicyRefusedError):
    """The acting identity cannot be proven: nothing is recorded (exit 3)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ("a signing key of the acting identity",))


def parse_public_key(line: str) -> Ed25519PublicKey:
    """An ``ssh-ed25519 AAAA… [comment]`` line as a public key; ``ValueError`` otherwise."""
    parts = line.strip().split()
    if len(parts) < 2 or parts[0] != "ssh-ed25519":
        raise ValueError("expected an OpenSSH 'ssh-ed25519 AAAA…' public key line")
    try:
        loaded = serialization.load_ssh_public_key(f"{parts[0]} {parts[1]}".encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a valid ssh-ed25519 public key: {exc}") from None
    if not isinstance(loaded, Ed25519PublicKey):  # pragma: no cover - the prefix says ed25519
        raise ValueError("only ssh-ed25519 keys are accepted")
    return loaded


def public_line(public: Ed25519PublicKey, comment: str) -> str:
    """The OpenSSH public line of ``public`` (what goes into the policy's ``keys``)."""
    raw = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{raw.decode()} {comment}".strip()


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: Ed25519PublicKey) -> str:
    """``SHA256:…`` hex of the raw public key (shown in messages, never the key itself)."""
    return "SHA256:" + hashlib.sha256(_raw(public)).hexdigest()[:16]


def matches(public: Ed25519PublicKey, candidates: Iterable[Ed25519PublicKey]) -> bool:
    """Whether ``public`` is one of ``candidates`` (compared as raw bytes)."""
    mine = _raw(public)
    return any(_raw(c) == mine for c in candidates)


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        info = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        raise IdentityError(f"cannot read signing key {path}: {exc.strerror}") from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise IdentityError(
            f"signing key {path} is readable by others (mode {stat.S_IMODE(info.st_mode):o}); "
            "chmod 600 it"
        )
    loaders = (serialization.load_ssh_private_key, serialization.load_pem_private_key)
    for loader in loaders:
        try:
            key = loader(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
        if isinstance(key, Ed25519PrivateKey):
            return key
    raise IdentityError(f"{path} is not an unencrypted Ed25519 private key (OpenSSH or PEM)")


def find_private_key(name: str, explicit: str | None, environ: Mapping[str, str]) -> KeyPair:
    """``name``'s private key from ``--key``, ``RISKCTL_SIGNING_KEY`` or ``RISKCTL_KEYRING``."""
    if explicit:
        path = Path(explicit)
    elif environ.get("RISKCTL_SIGNING_KEY"):
        path = Path(environ["RISKCTL_SIGNING_KEY"])
    elif environ.get("RISKCTL_KEYRING"):
        path = Path(environ["RISKCTL_KEYRING"]) / name
        if not path.exists():
            raise IdentityError(
                f"no private key for {name} in $RISKCTL_KEYRING: --as only names who signs; "
                "pass --key FILE or set RISKCTL_SIGNING_KEY"
            )
    else:
        raise IdentityError(
            f"no private key for {name}: --as only names who signs; pass --key FILE, set "
            "RISKCTL_SIGNING_KEY, or RISKCTL_KEYRING to a directory holding a key named "
            f"{name} (create one with `riskctl keygen --as {name}`)"
        )
    private = _load_private(path)
    return KeyPair(private, key_id(private.public_key()))


def generate_key(path: Path) -> KeyPair:
    """A new Ed25519 key written to ``path`` (OpenSSH format, mode 0600; never overwritten)."""
    private = Ed25519PrivateKey.generate()
    data = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} exists: riskctl never overwrites a private key") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return KeyPair(private, key_id(private.public_key()))
