"""Only verified facts count: a decision's reviews, approvals and gate results, filtered against
the pinned policy at decision time (SPEC §6a).

* A review or approval counts only when its signed statement verifies with a key the pinned
  policy gives its actor, and says this kind, release and environment.
* Roles are never taken from what was stored with an approval: the policy engine re-derives them
  from the pinned policy (:func:`riskctl.policy.evaluate_deploy`).
* A gate result counts only when it ran under the pinned policy's definition of that gate (the
  digest of the definition is recorded with each result).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from riskctl.config import DeliveryConfig, GateSpec
from riskctl.model import Approval, Review
from riskctl.policy import DeployFacts
from riskctl.trust.statements import Kind, StatementError, verify_statement

__all__ = ["Trusted", "gate_spec_digest", "statement_counts", "trusted_facts"]


def gate_spec_digest(spec: GateSpec) -> str:
    """``sha256:`` over the gate definition's canonical JSON (what ran, how it was judged)."""
    text = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def statement_counts(
    config: DeliveryConfig,
    kind: Kind,
    *,
    actor: str,
    subject: str,
    env: str | None,
    statement: str,
) -> str | None:
    """None when the statement counts, else why not."""
    try:
        verify_statement(
            statement, config.public_keys(actor), kind=kind, signer=actor, subject=subject, env=env
        )
    except StatementError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class Trusted:
    """The facts that count, and why the others were set aside."""

    facts: DeployFacts
    ignored: tuple[str, ...]


def _approval_kind(approval: Approval) -> Kind:
    return Kind.BREAK_GLASS if approval.break_glass else Kind.APPROVAL


def trusted_facts(config: DeliveryConfig, facts: DeployFacts) -> Trusted:
    """``facts`` with every review, approval and gate result that does not verify removed."""
    ignored: list[str] = []
    reviews: list[Review] = []
    for review in facts.reviews:
        why = statement_counts(
            config,
            Kind.REVIEW,
            actor=review.actor,
            subject=review.digest,
            env=None,
            statement=review.statement,
        )
        if why:
            ignored.append(f"review ignored: {why}")
        else:
            reviews.append(review)
    approvals: list[Approval] = []
    for approval in facts.approvals:
        why = statement_counts(
            config,
            _approval_kind(approval),
            actor=approval.actor,
            subject=approval.digest,
            env=approval.env,
            statement=approval.statement,
        )
        if why:
            ignored.append(f"approval ignored: {why}")
        else:
            approvals.append(approval)
    gates = {}
    for name, record in facts.gates.items():
        spec = config.gates.get(name)
        if spec is not None and record.spec_digest == gate_spec_digest(spec):
            gates[name] = record
        else:
            ignored.append(f"gate {name} ignored: it ran under other gate definitions")
    trusted = replace(facts, reviews=tuple(reviews), approvals=tuple(approvals), gates=gates)
    return Trusted(trusted, tuple(ignored))
