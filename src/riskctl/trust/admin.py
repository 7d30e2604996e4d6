"""The commands that set trust up: ``riskctl keygen`` (a person's key) and ``riskctl policy pin``
(put a policy in force, signed by an admin)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskctl.errors import UsageError
from riskctl.trust.keys import find_private_key, generate_key, public_line
from riskctl.trust.pin import pin_policy
from riskctl.usecases.context import Context as Session

__all__ = ["keygen", "pin"]


def keygen(name: str, out: str | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """Create ``name``'s private key at ``out``, else ``$RISKCTL_KEYRING/NAME``; return the public
    line to paste into the policy's ``identities.NAME.keys``."""
    if not name or "/" in name or name.startswith("."):
        raise UsageError(f"--as {name!r}: an identity name, e.g. --as eng-1")
    if out:
        path = Path(out)
    elif environ.get("RISKCTL_KEYRING"):
        path = Path(environ["RISKCTL_KEYRING"]) / name
    else:
        raise UsageError("say where the private key goes: --out FILE or RISKCTL_KEYRING=DIR")
    key = generate_key(path)
    return {"identity": name, "private_key": str(path), "public_key": public_line(key.public, name)}


def pin(session: Session) -> dict[str, Any]:
    """Pin the session's policy file as the policy in force (an admin's signed statement)."""
    trust = session.trust
    name = trust.actor
    if not name:
        raise UsageError("no acting identity: pass --as ADMIN")
    current = trust.pinned
    if trust.pin_error:
        raise UsageError(trust.pin_error)
    # The signer's key is checked against the authority (the pinned policy, or for the first
    # pin the file being pinned): TrustContext would check it against the pinned one only.
    key = find_private_key(name, trust.key_path, trust.environ)
    pinned = pin_policy(
        session.home, session.loaded, current, signer=name, key=key, now=session.clock.now()
    )
    trust.pinned = pinned
    session.record(
        "policy.pinned",
        details={
            "policy": pinned.digest,
            "previous": current.digest if current else None,
            "file": str(session.loaded.path),
        },
    )
    return {
        "policy": pinned.digest,
        "previous": current.digest if current else None,
        "signer": name,
        "pins": pinned.pins,
    }
