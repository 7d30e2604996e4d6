"""The daily risk-run guard: fall back to the last good release, and only then."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from riskctl.riskrun import (
    Attempt,
    Outcome,
    guard,
    last_good_release,
    plan_fallback,
    run_with_release,
)


def _runner(codes: dict[str, int]):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def run(release: str) -> Attempt:
        calls.append(release)
        return Attempt(release, codes[release], 0.1, "")

    return run, calls


def test_success_needs_no_fallback() -> None:
    """The stable release succeeds: one attempt."""
    run, calls = _runner({"r2": 0})
    result = guard("r2", "r1", run)
    assert (result.outcome, calls, result.producer) == (Outcome.SUCCEEDED, ["r2"], "r2")


def test_failure_on_new_release_falls_back() -> None:
    """A new release whose run fails is replaced by the last good one for that run."""
    run, calls = _runner({"r2": 1, "r1": 0})
    result = guard("r2", "r1", run)
    assert result.outcome is Outcome.FELL_BACK
    assert calls == ["r2", "r1"]
    assert result.producer == "r1"


def test_no_fallback_to_the_same_release_or_on_refusal() -> None:
    """Re-running the same release is pointless; a holiday refusal is not a failure."""
    assert plan_fallback("r1", "r1", Attempt("r1", 1, 0, "")) is None
    assert plan_fallback("r2", None, Attempt("r2", 1, 0, "")) is None
    run, calls = _runner({"r2": 3})
    assert guard("r2", "r1", run).outcome is Outcome.REFUSED
    assert calls == ["r2"]


def test_both_failing_is_a_failure() -> None:
    """When the last good release fails too, the outcome is FAILED with both attempts."""
    run, _ = _runner({"r2": 1, "r1": 1})
    result = guard("r2", "r1", run)
    assert result.outcome is Outcome.FAILED
    assert len(result.attempts) == 2
    assert result.producer is None


def test_last_good_release_from_audit_bodies() -> None:
    """The most recent successful run in that environment wins; others are ignored."""
    bodies = [
        {"action": "risk-run", "env": "prod", "details": {"release": "r1", "succeeded": True}},
        {"action": "deploy", "env": "prod", "details": {"release": "r2"}},
        {"action": "risk-run", "env": "prod", "details": {"release": "r2", "succeeded": False}},
        {"action": "risk-run", "env": "dev", "details": {"release": "r9", "succeeded": True}},
    ]
    assert last_good_release(bodies, "prod") == "r1"
    assert last_good_release(bodies, "staging") is None


@pytest.mark.integration
def test_run_with_a_real_release_and_a_broken_one(tmp_path: Path) -> None:
    """A real risk-service daily run succeeds; a release whose run raises falls back to it."""
    good_venv = Path(sys.executable).parent.parent
    variables = {"RISK_SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'risk.sqlite'}"}
    broken = tmp_path / "broken" / "bin"
    broken.mkdir(parents=True)
    script = broken / "risk-service"
    script.write_text("#!/bin/sh\necho 'Traceback: engine exploded' >&2\nexit 1\n")
    script.chmod(0o755)

    def run(release: str) -> Attempt:
        venv = good_venv if release == "good" else broken.parent
        return run_with_release(venv, release, "2026-11-25", "dev", variables, timeout=300)

    result = guard("bad", "good", run)
    assert result.outcome is Outcome.FELL_BACK, result
    assert "engine exploded" in result.attempts[0].output
    assert result.attempts[1].succeeded
    holiday = run_with_release(good_venv, "good", "2026-11-26", "dev", variables, timeout=300)
    assert holiday.exit_code == 3
    missing = run_with_release(tmp_path / "nowhere", "x", "2026-11-25", "dev", {}, timeout=5)
    assert missing.exit_code == 127
