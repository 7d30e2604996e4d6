"""The daily risk-run guard: the morning numbers still arrive after a bad deploy.

The scheduled run uses the environment's stable release. If it fails — or its output fails the
service's validation — and that release was deployed since the last good run, the guard re-runs
the date with the last known-good release, alerts, and records both attempts in the audit trail
(SPEC §3, issue 5 item 8). A refused date (not an NYSE session) is not a failure.

The decision (:func:`plan_fallback`) is pure; :func:`run_with_release` runs a release's own
``risk-service daily-run`` from its release directory, as a black box.
"""

from __future__ import annotations

import enum
import os
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Exit codes of ``risk-service daily-run`` (see its --help): 0 ok, 3 refused (not a session).
EXIT_OK = 0
EXIT_REFUSED = 3
#: Audit-trail kind of a risk-run attempt.
RISK_RUN_KIND = "risk-run"


class Outcome(enum.StrEnum):
    """How the morning run ended."""

    SUCCEEDED = "succeeded"
    REFUSED = "refused"  # not a business date: nothing to run
    FELL_BACK = "fell_back"  # stable release failed; the last good release produced the numbers
    FAILED = "failed"  # no release produced the numbers: page someone


@dataclass(frozen=True, slots=True)
class Attempt:
    """One run of one release for one date."""

    release: str
    exit_code: int
    seconds: float
    output: str  # last lines of the run's output, for the audit trail

    @property
    def succeeded(self) -> bool:
        """Exit 0."""
        return self.exit_code == EXIT_OK


@dataclass(frozen=True, slots=True)
class GuardResult:
    """All attempts and the outcome."""

    outcome: Outcome
    attempts: tuple[Attempt, ...]

    @property
    def producer(self) -> str | None:
        """The release whose numbers are in the store, if any."""
        last = self.attempts[-1] if self.attempts else None
        return last.release if last and last.succeeded else None


def plan_fallback(stable: str, last_good: str | None, first: Attempt) -> str | None:
    """The release to re-run with after ``first`` (by the stable release), or None.

    Fall back only when the stable release failed for real (not a refusal) and a *different*
    release is known to have produced a good run: re-running the same code is pointless.
    """
    if first.exit_code in (EXIT_OK, EXIT_REFUSED):
        return None
    if last_good is None or last_good == stable:
        return None
    return last_good


def guard(stable: str, last_good: str | None, run: Callable[[str], Attempt]) -> GuardResult:
    """Run with ``stable``; fall back to ``last_good`` when :func:`plan_fallback` says so."""
    first = run(stable)
    if first.succeeded:
        return GuardResult(Outcome.SUCCEEDED, (first,))
    if first.exit_code == EXIT_REFUSED:
        return GuardResult(Outcome.REFUSED, (first,))
    fallback = plan_fallback(stable, last_good, first)
    if fallback is None:
        return GuardResult(Outcome.FAILED, (first,))
    second = run(fallback)
    return GuardResult(Outcome.FELL_BACK if second.succeeded else Outcome.FAILED, (first, second))


def last_good_release(entries: Iterable[Mapping[str, Any]], env: str) -> str | None:
    """The release of the most recent successful risk run in ``env`` (audit entry bodies)."""
    good = None
    for body in entries:
        if body.get("action") != RISK_RUN_KIND or body.get("env") != env:
            continue
        details = body.get("details") or {}
        if details.get("succeeded"):
            good = details.get("release")
    return good if isinstance(good, str) else None


def run_with_release(
    venv: Path,
    release: str,
    business_date: str,
    env: str,
    variables: Mapping[str, str],
    *,
    timeout: float = 3600.0,
) -> Attempt:
    """Run ``risk-service daily-run`` from a release's virtualenv and capture the result."""
    command = [
        str(venv / "bin" / "risk-service"),
        "daily-run",
        "--date",
        business_date,
        "--env",
        env,
    ]
    child_env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8", **variables}
    if "HOME" in os.environ:
        child_env.setdefault("HOME", os.environ["HOME"])
    start = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv from our own release directory
            command, env=child_env, capture_output=True, text=True, timeout=timeout, check=False
        )
        code, text = done.returncode, (done.stdout + done.stderr)
    except subprocess.TimeoutExpired:
        code, text = 124, f"timed out after {timeout:.0f} s"
    except OSError as exc:
        code, text = 127, f"cannot run {command[0]}: {exc.strerror}"
    tail = "\n".join(text.strip().splitlines()[-5:])
    return Attempt(release, code, time.monotonic() - start, tail)


__all__ = [
    "EXIT_OK",
    "EXIT_REFUSED",
    "RISK_RUN_KIND",
    "Attempt",
    "GuardResult",
    "Outcome",
    "guard",
    "last_good_release",
    "plan_fallback",
    "run_with_release",
]
