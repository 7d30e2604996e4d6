"""Signed statements: what a person attests (a review, an approval, a break-glass vote, a
model-change acceptance, an incident resolution, a deploy request, a policy pin), as an in-toto
Statement v1 in a DSSE envelope signed with the person's own key.

A statement counts only when :func:`verify_statement` accepts it against the *pinned* policy's
keys for the named signer, and it says exactly what the audit entry carrying it says (kind,
signer, subject, environment): a valid signature copied onto another release, environment or
person is refused.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from riskctl.signing import KeyPair, dsse_sign, dsse_verify

__all__ = [
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "Claim",
    "Kind",
    "StatementError",
    "sign_statement",
    "verify_statement",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://github.com/risk-service/riskctl/attestation/v1"


class StatementError(ValueError):
    """A statement is missing, forged, signed by another key, or says something else."""


class Kind(enum.StrEnum):
    """What a statement attests."""

    REVIEW = "review"
    APPROVAL = "approval"
    BREAK_GLASS = "break-glass"
    MODEL_CHANGE = "model-change"
    INCIDENT_OPEN = "incident-open"
    INCIDENT_RESOLUTION = "incident-resolution"
    DEPLOY_REQUEST = "deploy-request"
    POLICY_PIN = "policy-pin"


@dataclass(frozen=True)
class Claim:
    """The content of a statement. ``subject`` is a release or policy digest (``sha256:…``) or
    another id (an incident); ``time`` is ISO 8601 UTC."""

    kind: Kind
    signer: str
    subject: str
    env: str | None
    time: str
    policy_digest: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def payload(self) -> bytes:
        digest = {"sha256": self.subject.removeprefix("sha256:")}
        statement = {
            "_type": STATEMENT_TYPE,
            "subject": [
                {
                    "name": self.subject,
                    "digest": digest if self.subject.startswith("sha256:") else {},
                }
            ],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "kind": str(self.kind),
                "signer": self.signer,
                "subject": self.subject,
                "env": self.env,
                "time": self.time,
                "policy_digest": self.policy_digest,
                **dict(self.extra),
            },
        }
        return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()


def sign_statement(claim: Claim, key: KeyPair) -> str:
    """The DSSE envelope (compact JSON text) of ``claim`` signed by ``key``."""
    envelope = json.loads(dsse_sign(claim.payload(), key))
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"))


_FIXED = ("kind", "signer", "subject", "env", "time", "policy_digest")


def verify_statement(
    envelope: str,
    keys: Sequence[Ed25519PublicKey],
    *,
    kind: Kind,
    signer: str,
    subject: str,
    env: str | None,
) -> Claim:
    """The claim in ``envelope`` if one of ``keys`` signed it and it says exactly this kind,
    signer, subject and environment; :class:`StatementError` otherwise."""
    if not envelope:
        raise StatementError(f"{kind} by {signer} carries no signed statement")
    if not keys:
        raise StatementError(f"{signer} has no signing keys in the pinned policy")
    statement: dict[str, Any] | None = None
    for public in keys:
        try:
            statement = dsse_verify(envelope.encode(), public)
        except ValueError:
            continue
        break
    if statement is None:
        raise StatementError(f"{kind} by {signer}: the signature is not by a key of {signer}")
    predicate = statement.get("predicate")
    if statement.get("predicateType") != PREDICATE_TYPE or not isinstance(predicate, dict):
        raise StatementError(f"{kind} by {signer}: not a riskctl statement")
    said = {k: predicate.get(k) for k in _FIXED}
    wanted = {"kind": str(kind), "signer": signer, "subject": subject, "env": env}
    wrong = [k for k, v in wanted.items() if said[k] != v]
    if wrong:
        shown = ", ".join(f"{k}={said[k]!r} (entry says {wanted[k]!r})" for k in wrong)
        raise StatementError(f"{kind} by {signer}: the signed statement says {shown}")
    return Claim(
        kind=kind,
        signer=signer,
        subject=subject,
        env=env,
        time=str(said["time"]),
        policy_digest=str(said["policy_digest"]),
        extra={k: v for k, v in predicate.items() if k not in _FIXED},
    )
