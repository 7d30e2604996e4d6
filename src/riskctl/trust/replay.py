"""OIDC tokens are single-use: the first command that proves with a token spends it.

A CI token is a bearer credential until it expires (minutes). Anyone who copies it (a log, a
later step of the same job, a process on the runner) could otherwise act as the CI identity
for every decision until then. So riskctl remembers each token it accepted, by the issuer and
``jti``, in ``$RISKCTL_HOME/oidc/``, until the token's ``exp`` (plus the verifier's leeway) has
passed; a second command presenting the same token is refused. A CI job therefore requests a
fresh token for each recording command (``python -m riskctl.trust.github run -- riskctl …``).

The record is created with ``O_EXCL``, so two processes racing with one token cannot both win
(also on shared storage that honours exclusive create, as NFSv3+ does). The file name is the
SHA-256 of issuer and ``jti``; it holds the token's SHA-256, never the token.

What this does not stop: a token copied *before* its first use can be used first by whoever
copied it (the legitimate command is then refused, which is loud, not silent). Commands that
only read never prove an identity, so they never spend a token.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from riskctl.trust.oidc import OidcError, OidcIdentity

__all__ = ["spend_token"]


def _record_name(issuer: str, jti: str) -> str:
    return hashlib.sha256(f"{issuer}\0{jti}".encode()).hexdigest() + ".json"


def _forget_expired(directory: Path, now: float) -> None:
    """Drop records whose token can no longer verify (past ``exp`` plus leeway)."""
    for path in directory.glob("*.json"):
        try:
            until = float(json.loads(path.read_text(encoding="utf-8"))["forget_after"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: keep it (refusing a token is the safe side)
        if until < now:
            path.unlink(missing_ok=True)


def spend_token(
    home: Path, found: OidcIdentity, *, leeway_s: float, now: float | None = None
) -> Path:
    """Remember ``found``'s token as used; :class:`OidcError` when it was used before."""
    issuer, jti = found.claims.get("iss"), found.claims.get("jti")
    if not isinstance(issuer, str) or not isinstance(jti, str) or not jti:
        raise OidcError("the OIDC token has no jti: it cannot be used once only, nothing recorded")
    current = time.time() if now is None else now
    directory = home / "oidc"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _forget_expired(directory, current)
    path = directory / _record_name(issuer, jti)
    record = {
        "identity": found.name,
        "token_sha256": found.token_digest,
        "expires": found.expires,
        "forget_after": found.expires + leeway_s,
        "used_at": current,
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise OidcError(
            f"this OIDC token (jti {jti!r}) was already used by an earlier command: a token "
            "proves one command only; request a new one. Nothing recorded"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True))
        fh.flush()
        os.fsync(fh.fileno())
    return path
