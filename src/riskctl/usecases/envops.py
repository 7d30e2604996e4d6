"""Operating an environment's stable release from outside: its CLI, and the guarded daily run.

``riskctl exec --env ENV -- ARGS`` runs ``risk-service ARGS`` from the release that serves ENV,
with ENV's configuration (its store, its environment name) — how upstream deliveries are loaded
into prod, and anonymised into staging. ``riskctl risk-run --env ENV --date D`` is the scheduled
morning run with the fallback guard (:mod:`riskctl.riskrun`). Both treat the service as a black
box: a release directory and its command line.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from riskctl.audit.actions import refused_action, risk_run_outcome
from riskctl.errors import PolicyRefusedError, RiskctlError, UsageError
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
from riskctl.targets.releasedir import ensure_venv
from riskctl.trust.operate import authorise_operation
from riskctl.usecases._result import Result
from riskctl.usecases.context import Context
from riskctl.usecases.deploys import service_variables

__all__ = [
    "RiskRunAttempt",
    "RiskRunFailedError",
    "RiskRunResult",
    "exec_service",
    "risk_run",
    "stable_release",
]


class RiskRunFailedError(RiskctlError):
    """No release produced the day's numbers; ``results`` has the attempts."""

    def __init__(self, message: str, results: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.results = results or {}


def stable_release(ctx: Context, env: str) -> Release:
    """The release serving ``env`` now, or a usage error saying nothing is deployed there."""
    ctx.config.environment(env)  # validates the name
    ledger = ctx.ledger()
    current = ledger.current.get(env)
    if current is None:
        raise UsageError(f"nothing is deployed to {env} yet: deploy a release first")
    return ledger.release(current)


def _authorise(ctx: Context, env: str, release: Release, what: str) -> None:
    """A deployer of ``env`` under the pinned policy, running a release allowed there."""
    actor = ctx.require_actor()
    ctx.trust.require_pinned(env)
    decision = authorise_operation(
        ctx.config, ctx.calendar, ctx.ledger(),
        env=env, actor=actor, release=release, now=ctx.clock.now(), what=what,
    )  # fmt: skip
    if not decision.allowed:
        ctx.refuse(refused_action(what), decision, release, env)


def _venv(ctx: Context, release: Release) -> Path:
    return ensure_venv(ctx.home / "releases" / release.id, release.wheel, digest=release.digest)


def exec_service(
    ctx: Context, env: str, args: Sequence[str], *, release_ref: str | None = None
) -> int:
    """Run the stable release's ``risk-service ARGS`` with ``env``'s configuration (exit code)."""
    if not args:
        raise UsageError("give the risk-service arguments after --, e.g. -- data load --help")
    ctx.config.environment(env)  # validates the name
    if release_ref is not None:
        release = ctx.ledger().release(release_ref)
    else:
        release = stable_release(ctx, env)
    _authorise(ctx, env, release, "exec")
    venv = _venv(ctx, release)
    variables = service_variables(ctx, env, release)
    (ctx.home / "envs" / env).mkdir(parents=True, exist_ok=True)
    command = [str(venv / "bin" / "risk-service"), *args]
    # The operator's own RISK_SERVICE_* settings (e.g. the anonymisation key, a secret that
    # never goes into a policy file) pass through; the environment's settings win.
    passed = {k: v for k, v in os.environ.items() if k.startswith("RISK_SERVICE_")}
    done = subprocess.run(  # noqa: S603 - the release's own CLI
        command,
        env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8", **passed, **variables},
        check=False,
    )
    ctx.record(
        "exec",
        release=release.digest,
        env=env,
        details={"release": release.id, "args": list(args), "exit_code": done.returncode},
    )
    return done.returncode


@dataclass(frozen=True)
class RiskRunAttempt(Result):
    """One release's run for the day."""

    release: str
    exit_code: int
    seconds: float


@dataclass(frozen=True)
class RiskRunResult(Result):
    """How the day's run ended, and which release produced the numbers."""

    env: str
    date: str
    outcome: str
    producer: str | None
    attempts: tuple[RiskRunAttempt, ...]


def check_business_date(text: str) -> None:
    """A usage error unless ``text`` is a date, YYYY-MM-DD (checked before anything opens)."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--date must be YYYY-MM-DD, got {text!r}") from None


def risk_run_lines(env: str, business_date: str, result: GuardResult) -> list[str]:
    """The run as an operator reads it: the outcome, then each attempt."""
    lines = [f"risk run {env} {business_date}: {result.outcome.value}"]
    lines += [
        f"  - {a.release}: exit {a.exit_code} in {a.seconds:.1f} s"
        + (f" ({a.output.splitlines()[-1]})" if a.exit_code and a.output else "")
        for a in result.attempts
    ]
    if result.outcome is Outcome.FELL_BACK:
        lines.append(f"  numbers produced by the last good release {result.producer}; alerted")
    return lines


def risk_run(ctx: Context, env: str, business_date: str) -> tuple[RiskRunResult, list[str]]:
    """The guarded daily run of ``env`` for ``business_date`` (every attempt recorded): the
    result and its lines. Not a session: :class:`PolicyRefusedError`; no release produced the
    numbers: :class:`RiskRunFailedError` (with the result)."""
    check_business_date(business_date)
    result = _guarded_run(ctx, env, business_date)
    payload = RiskRunResult(
        env=env,
        date=business_date,
        outcome=result.outcome.value,
        producer=result.producer,
        attempts=tuple(
            RiskRunAttempt(a.release, a.exit_code, round(a.seconds, 2)) for a in result.attempts
        ),
    )
    lines = risk_run_lines(env, business_date, result)
    if result.outcome is Outcome.REFUSED:
        raise PolicyRefusedError(f"{business_date} is not an NYSE session: no risk run", ())
    if result.outcome is Outcome.FAILED:
        raise RiskRunFailedError("\n".join(lines), payload.as_dict())
    return payload, lines


def _guarded_run(ctx: Context, env: str, business_date: str) -> GuardResult:
    stable = stable_release(ctx, env)
    _authorise(ctx, env, stable, "risk-run")
    last_good = last_good_release(ctx.audit.bodies(), env)
    ledger = ctx.ledger()

    def run(release_id: str) -> Attempt:
        release = ledger.release(release_id)
        variables = service_variables(ctx, env, release)
        attempt = run_with_release(_venv(ctx, release), release.id, business_date, env, variables)
        ctx.record(
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
        ctx.record(
            risk_run_outcome(result.outcome),
            release=stable.digest,
            env=env,
            details={
                "release": stable.id,
                "date": business_date,
                "summary": summary,
                "producer": result.producer,
            },
        )
        ctx.notify(Notification(event, env, summary, release=stable.id))
    return result
