"""Issue 8's reproductions not already covered elsewhere, one test each, named after the finding.

Where the other reproductions live (each fails on the code before the fix):

====  ==========================================================================================
1     test_trust.py::test_finding1_exec_needs_deployer_role (admin token), ..._serving_release_...
2     test_gate_sandbox.py::test_finding2_gate_cannot_read_audit_key
3     test_trust.py::test_finding3_* (other policy, gate definitions, clock_override, roles)
4     witness/test_anchored_trail.py::test_finding4_* (truncation, no key minted, rewrite)
5     test_audit_verified.py::test_finding5_* (unsigned row, foreign key)
6     test_trust.py::test_finding6_* (e-mail not name, dirty build attributed to its builder)
7     test_release_verify.py::test_finding7_*, tests/service/test_release_files.py
8     test_trust.py::test_finding8_* (staging --via, prod strategy)
9     tests/service/test_fail_closed.py::test_finding9_*
10    test_trust.py::test_finding10_*, test_finding10.py (names, atomic publish)
====  ==========================================================================================

The audit-verify detections the issue lists: tail truncation and a full rewrite under a new key
(witness/test_anchored_trail.py), an inserted unsigned row (test_audit_verified.py), a
non-canonical signature encoding (test_audit_tamper.py), and here: a non-canonical encoding in a
person's signed statement.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from riskctl.clock import FixedCalendar
from riskctl.config import load_config
from riskctl.model import Strategy
from riskctl.policy import DeployRequest, evaluate_deploy
from riskctl.signing import KeyPair, key_id
from riskctl.trust.facts import statement_counts
from riskctl.trust.statements import Claim, Kind, sign_statement
from tests.riskctl.conftest import Built, Cli, FakeTarget, session_for, take_to_prod
from tests.riskctl.fixture_project import person_key

ROOT = Path(__file__).resolve().parents[2]


def _actors(home: Path) -> list[str]:
    with sqlite3.connect(home / "audit.sqlite") as db:
        return [
            json.loads(b)["actor"] for (b,) in db.execute("SELECT body FROM riskctl_audit_entry")
        ]


def test_finding1_exec_db_downgrade_needs_a_deployer_identity(built: Built, cli: Cli) -> None:
    """`exec --env prod -- db downgrade --revision base` runs for no one who is not a proven prod
    deployer: without an identity it is a usage error, as an engineer it is refused, and the
    trail never records an `unknown` actor."""
    downgrade = ["--", "db", "downgrade", "--revision", "base"]
    nobody = cli("exec", "--env", "prod", "--release", built.release, *downgrade)
    assert nobody.code == 2
    engineer = cli("exec", "--env", "prod", "--release", built.release, "--as", "eng-1", *downgrade)
    assert engineer.code == 3
    assert "not a deployer of prod" in engineer.stderr
    as_github_actor = cli(
        "exec", "--env", "prod", "--release", built.release, *downgrade, GITHUB_ACTOR="octocat"
    )
    assert as_github_actor.code == 3  # a name alone proves nothing
    assert "exec" not in cli.audit_actions()
    assert "unknown" not in _actors(built.home)


def test_finding1_risk_run_needs_a_deployer_identity(
    built: Built, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`risk-run --env prod` (it writes the day's results into prod's store) is refused for an
    engineer once a release serves prod, and records the refusal under the engineer's name."""
    take_to_prod(built, monkeypatch, FakeTarget())
    out = cli("risk-run", "--env", "prod", "--date", "2026-03-02", "--as", "eng-1")
    assert out.code == 3, out.stdout + out.stderr
    assert "not a deployer of prod" in out.stderr
    assert _actors(built.home)[-1] == "eng-1"
    assert "risk-run" not in cli.audit_actions()


def test_finding8_recreate_cannot_skip_prod_canary_under_the_repository_policy(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the repository's own delivery.toml, a prod deploy asking for `--strategy recreate`
    (no canary analysis) or `--via` is refused by policy, whoever asks."""
    config = load_config(ROOT / "delivery.toml").config
    session = session_for(built.repo, built.home, monkeypatch, None)
    try:
        ledger = session.ledger()
        facts = ledger.facts(ledger.release(built.release), "prod", session.config)
    finally:
        session.close()
    now = datetime(2026, 3, 2, 15, tzinfo=UTC)
    for strategy, via, check in ((Strategy.RECREATE, False, "strategy"), (None, True, "via")):
        request = DeployRequest("prod", "sre-1", now, strategy=strategy, via=via)
        decision = evaluate_deploy(config, FixedCalendar(), request, facts)
        failed = {c.name for c in decision.checks if not c.ok}
        assert check in failed, decision.message()
    canary = DeployRequest("prod", "sre-1", now, strategy=Strategy.CANARY)
    checks = evaluate_deploy(config, FixedCalendar(), canary, facts).checks
    assert {"strategy", "via"}.isdisjoint(c.name for c in checks if not c.ok)


def test_finding_non_canonical_statement_encoding_does_not_count(built: Built) -> None:
    """A person's genuine statement re-spelled with non-canonical base64 (padding bits set) is
    a different string for the same signature: it does not count."""
    private = person_key("risk-1")
    key = KeyPair(private, key_id(private.public_key()))
    claim = Claim(Kind.APPROVAL, "risk-1", built.digest, "prod", "2026-03-02T15:00:00+00:00", "x")
    genuine = sign_statement(claim, key)
    config = load_config(built.repo / "delivery.toml").config

    def counts(statement: str) -> str | None:
        return statement_counts(config, Kind.APPROVAL, actor="risk-1", subject=built.digest,
                                env="prod", statement=statement)  # fmt: skip

    assert counts(genuine) is None
    envelope = json.loads(genuine)
    sig = envelope["signatures"][0]["sig"]
    assert sig.endswith("==")  # 64 bytes: two padding characters, four spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(sig[-3])
    assert last % 16 == 0  # canonical: the spare bits are zero
    envelope["signatures"][0]["sig"] = sig[:-3] + alphabet[last + 1] + "=="
    respelled = json.dumps(envelope, sort_keys=True, separators=(",", ":"))
    assert counts(respelled) is not None
