"""Operating an environment's stable release from outside: its CLI, and the guarded daily run.

``riskctl exec --env ENV -- ARGS`` runs ``risk-service ARGS`` from the release that serves ENV,
with ENV's configuration (its store, its environment name) — how upstream deliveries are loaded
into prod, and anonymised into staging. ``riskctl risk-run --env ENV --date D`` is the scheduled
morning run with the fallback guard (:mod:`riskctl.riskrun`). Both treat the service as a black
box: a release directory and its command line.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from riskctl.errors import RiskctlError, UsageError
from riskctl.model import Release
from riskctl.notify import Event, Notification
from riskctl.riskrun import (
    RISK_RUN_KIND,
    Attempt,
    GuardResult,
    Outcome,
    guard,
    last_good_release,
    run_with_release,
)
from riskctl.service import Session, service_variables
from riskctl.targets.releasedir import ensure_venv
from riskctl.trust.operate import authorise_operation


class RiskRunFailedError(RiskctlError):
    """No release produced the day's numbers; ``results`` has the attempts."""

    def __init__(self, message: str, results: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.results = results or {}


def stable_release(session: Session, env: str) -> Release:
    """The release serving ``env`` now, or a usage error saying nothing is deployed there."""
    session.config.environment(env)  # validates the name
    ledger = session.ledger()
    current = ledger.current.get(env)
    if current is None:
        raise UsageError(f"nothing is deployed to {env} yet: deploy a release first")
    return ledger.release(current)


def _authorise(session: Session, env: str, release: Release, what: str) -> None:
    """A deployer of ``env`` under the pinned policy, running a release allowed there."""
    actor = session.require_actor()
    session.trust.require_pinned(env)
    decision = authorise_operation(
        session.config, session.calendar, session.ledger(),
        env=env, actor=actor, release=release, now=session.clock.now(), what=what,
    )  # fmt: skip
    if not decision.allowed:
        session.refuse(f"{what}.refused", decision, release, env)


def _venv(session: Session, release: Release) -> Path:
    return ensure_venv(session.home / "releases" / release.id, release.wheel, digest=release.digest)


def exec_service(
    session: Session, env: str, args: Sequence[str], *, release_ref: str | None = None
) -> int:
    """Run the stable release's ``risk-service ARGS`` with ``env``'s configuration (exit code)."""
    if not args:
        raise UsageError("give the risk-service arguments after --, e.g. -- data load --help")
    session.config.environment(env)  # validates the name
    if release_ref is not None:
        release = session.ledger().release(release_ref)
    else:
        release = stable_release(session, env)
    _authorise(session, env, release, "exec")
    venv = _venv(session, release)
    variables = service_variables(session, env, release)
    (session.home / "envs" / env).mkdir(parents=True, exist_ok=True)
    command = [str(venv / "bin" / "risk-service"), *args]
    # The operator's own RISK_SERVICE_* settings (e.g. the anonymisation key, a secret that
    # never goes into a policy file) pass through; the environment's settings win.
    passed = {k: v for k, v in os.environ.items() if k.startswith("RISK_SERVICE_")}
    done = subprocess.run(  # noqa: S603 - the release's own CLI
        command,
        env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8", **passed, **variables},
        check=False,
    )
    session.record(
        "exec",
        release=release.digest,
        env=env,
        details={"release": release.id, "args": list(args), "exit_code": done.returncode},
    )
    return done.returncode


def risk_run(session: Session, env: str, business_date: str) -> GuardResult:
    """The guarded daily run of ``env`` for ``business_date`` (every attempt recorded)."""
    stable = stable_release(session, env)
    _authorise(session, env, stable, "risk-run")
    last_good = last_good_release(session.audit.bodies(), env)
    ledger = session.ledger()

    def run(release_id: str) -> Attempt:
        release = ledger.release(release_id)
        variables = service_variables(session, env, release)
        attempt = run_with_release(
            _venv(session, release), release.id, business_date, env, variables
        )
        session.record(
            RISK_RUN_KIND,
            release=release.digest,
            env=env,
            details={
                "release": release.id,
                "date": business_date,
                "succeeded": attempt.succeeded,
                "exit_code": attempt.exit_code,
                "seconds": round(attempt.seconds, 3),
                "output": attempt.output,
            },
        )
        return attempt

    result = guard(stable.id, last_good, run)
    if result.outcome in (Outcome.FELL_BACK, Outcome.FAILED):
        event = (
            Event.RISK_RUN_FALLBACK
            if result.outcome is Outcome.FELL_BACK
            else Event.RISK_RUN_FAILED
        )
        summary = f"{stable.id} failed the {business_date} run; " + (
            f"re-ran with last good {result.producer}"
            if result.producer
            else "no release produced it"
        )
        session.record(
            f"risk-run-{result.outcome.value}",
            release=stable.digest,
            env=env,
            details={
                "release": stable.id,
                "date": business_date,
                "summary": summary,
                "producer": result.producer,
            },
        )
        session.notify(Notification(event, env, summary, release=stable.id))
    return result


__all__ = ["RiskRunFailedError", "exec_service", "risk_run", "stable_release"]
