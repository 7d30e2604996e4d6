"""The pinned policy: which policy file is in force, by digest, attested by an ``admin``.

``$RISKCTL_HOME/policy/pins.jsonl`` is a chain of pins, each a signed statement (kind
``policy-pin``, subject the policy digest, ``previous`` the digest it replaces) beside a copy of
the pinned file (``$RISKCTL_HOME/policy/<hex>.toml``). The first pin is signed by an admin of the
policy it pins (whoever sets up the home decides); every later pin must be signed by an admin of
the policy pinned before it, so a person who is not an admin of the policy in force cannot put
another in force. The whole chain is re-verified every time it is read.

::

    PinError (PolicyRefusedError, exit 3)   the chain does not verify, or a pin is not allowed
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from riskctl.config import LoadedConfig, load_config
from riskctl.errors import ConfigError, PolicyRefusedError, UsageError
from riskctl.model import Role
from riskctl.signing import KeyPair
from riskctl.trust.keys import matches
from riskctl.trust.statements import Claim, Kind, StatementError, sign_statement, verify_statement

__all__ = ["PinError", "Pinned", "pin_policy", "read_pinned"]


class PinError(PolicyRefusedError):
    """The pinned policy cannot be established or changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ("a policy pinned by an admin",))


@dataclass(frozen=True)
class Pinned:
    """The policy in force: its stored copy (validated), who pinned it, how many pins led here."""

    loaded: LoadedConfig
    signer: str
    pins: int

    @property
    def digest(self) -> str:
        return self.loaded.digest


def _dir(home: Path) -> Path:
    return home / "policy"


def _copy_path(home: Path, digest: str) -> Path:
    return _dir(home) / (digest.removeprefix("sha256:") + ".toml")


def read_pinned(home: Path) -> Pinned | None:
    """The verified head of the pin chain, None when nothing was ever pinned; :class:`PinError`
    when the chain has been altered."""
    chain = _dir(home) / "pins.jsonl"
    if not chain.exists():
        return None
    previous: Pinned | None = None
    for number, line in enumerate(chain.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{chain} line {number}"
        try:
            record = json.loads(line)
            digest, signer, envelope = record["policy"], record["signer"], record["statement"]
            loaded = load_config(_copy_path(home, digest))
        except (ValueError, KeyError, TypeError, ConfigError) as exc:
            raise PinError(f"the policy pin does not verify ({where}): {exc}") from None
        if loaded.digest != digest:
            raise PinError(f"the policy pin does not verify ({where}): the stored copy changed")
        authority = previous.loaded.config if previous else loaded.config
        if Role.ADMIN not in authority.roles_of(signer):
            raise PinError(f"the policy pin does not verify ({where}): {signer} is not an admin")
        try:
            claim = verify_statement(
                envelope,
                authority.public_keys(signer),
                kind=Kind.POLICY_PIN,
                signer=signer,
                subject=digest,
                env=None,
            )
        except StatementError as exc:
            raise PinError(f"the policy pin does not verify ({where}): {exc}") from None
        if claim.extra.get("previous") != (previous.digest if previous else None):
            raise PinError(f"the policy pin does not verify ({where}): the chain is broken")
        previous = Pinned(loaded, signer, number)
    return previous


def pin_policy(
    home: Path,
    loaded: LoadedConfig,
    current: Pinned | None,
    *,
    signer: str,
    key: KeyPair,
    now: datetime,
    expectations: Mapping[str, str] | None = None,
) -> Pinned:
    """Pin ``loaded`` as the policy in force, signed by ``signer`` (an admin of ``current``, or
    of ``loaded`` itself for the first pin). ``expectations`` (what the admin said they pin,
    already checked: :func:`riskctl.trust.admin.check_expectations`) go into the statement."""
    authority = current.loaded if current else loaded
    if Role.ADMIN not in authority.config.roles_of(signer):
        which = "the pinned policy" if current else "the policy being pinned"
        raise PinError(f"{signer} is not an admin of {which} ({authority.digest}): pin refused")
    if not matches(key.public, authority.config.public_keys(signer)):
        raise PinError(f"the key given is not one of {signer}'s keys in {authority.digest}")
    if current is not None and current.digest == loaded.digest:
        raise UsageError(f"{loaded.path} ({loaded.digest}) is already the pinned policy")
    raw = loaded.path.read_bytes()
    copy = _copy_path(home, loaded.digest)
    copy.parent.mkdir(parents=True, exist_ok=True)
    partial = copy.with_name(copy.name + ".partial")
    partial.write_bytes(raw)
    partial.replace(copy)
    stored = load_config(copy)
    if stored.digest != loaded.digest:
        raise UsageError(f"{loaded.path} changed while it was being pinned; pin again")
    claim = Claim(
        kind=Kind.POLICY_PIN,
        signer=signer,
        subject=loaded.digest,
        env=None,
        time=now.isoformat(),
        policy_digest=authority.digest,
        extra={**dict(expectations or {}), "previous": current.digest if current else None},
    )
    record = {"policy": loaded.digest, "signer": signer, "statement": sign_statement(claim, key)}
    with (_dir(home) / "pins.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return Pinned(stored, signer, (current.pins if current else 0) + 1)
