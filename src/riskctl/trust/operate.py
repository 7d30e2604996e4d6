"""Who may operate an environment's store directly (``riskctl exec``, ``riskctl risk-run``), and
with which release (finding 1).

Running a release's own CLI against an environment's store is as powerful as deploying it (it
can mint admin tokens or downgrade the schema), so it needs a deployer role for the environment
and runs only the release serving there, or a release the deploy policy would let this person
deploy there now (e.g. to seed the store just before its first deploy).
"""

from __future__ import annotations

from datetime import datetime

from riskctl.clock import Calendar
from riskctl.config import DeliveryConfig
from riskctl.ledger import Ledger
from riskctl.model import Release
from riskctl.policy import Check, Decision, DeployRequest, evaluate_deploy
from riskctl.trust.facts import trusted_facts

__all__ = ["authorise_operation"]


def authorise_operation(
    config: DeliveryConfig,
    calendar: Calendar,
    ledger: Ledger,
    *,
    env: str,
    actor: str,
    release: Release,
    now: datetime,
    what: str,
) -> Decision:
    """Whether ``actor`` may run ``release``'s CLI against ``env``'s store."""
    spec = config.environment(env)
    action = f"{what} {release.id} in {env}"
    roles = config.roles_of(actor)
    if not roles & set(spec.deployers):
        allowed = ", ".join(sorted(str(r) for r in spec.deployers))
        return Decision(
            action,
            (
                Check(
                    "role", False, f"{actor} is not a deployer of {env} (roles allowed: {allowed})"
                ),
            ),
        )
    if ledger.current.get(env) == release.id:
        return Decision(action, (Check("role", True), Check("release", True, "serving")))
    request = DeployRequest(
        env=env,
        actor=actor,
        now=now,
        rollback_plan="not a deploy: the serving release is unchanged",
    )
    facts = trusted_facts(config, ledger.facts(release, env, config)).facts
    decision = evaluate_deploy(config, calendar, request, facts)
    if decision.allowed:
        return Decision(action, (*decision.checks, Check("release", True, "deployable")))
    checks = tuple(
        Check(c.name, c.ok, c.detail if c.ok else f"{release.id} does not serve {env} and "
              f"could not be deployed there: {c.detail}")
        for c in decision.checks
    )  # fmt: skip
    return Decision(action, checks)
