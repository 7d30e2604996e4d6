"""Verified before folded (issue 8, finding 5): no decision is taken from a trail that does not
verify; an unsigned row in the store is a refusal, never a silently counted review."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from riskctl.audit import merkle
from riskctl.audit.log import Record, canonical_json
from riskctl.clock import parse_instant
from tests.riskctl.conftest import OPEN_NOW, Built, Cli


def _insert_row(home: Path, *, signature: str, key_id: str, body: dict[str, object]) -> None:
    """A store writer (no audit key) appends one row at the end of the entry table."""
    with sqlite3.connect(home / "audit.sqlite") as db:
        (size,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM riskctl_audit_entry").fetchone()
        text = canonical_json({**body, "seq": size + 1})
        db.execute(
            "INSERT INTO riskctl_audit_entry (seq, body, leaf_hash, key_id, signature) "
            "VALUES (?, ?, ?, ?, ?)",
            (size + 1, text, merkle.leaf_hash(text.encode()).hex(), key_id, signature),
        )


def _forged_review(built: Built) -> dict[str, object]:
    record = Record("review.recorded", "eng-2", parse_instant(OPEN_NOW), release=built.digest)
    return record.body(0)


def test_finding5_unsigned_row_is_refused_before_any_decision(built: Built, cli: Cli) -> None:
    """An unsigned review row appended to the store does not turn `deploy --check` into
    allowed: the command is refused (exit 3) naming the trail, and records nothing."""
    before = cli("deploy", built.release, "--env", "staging", "--as", "qa-1", "--check", "--json")
    assert before.code == 3
    assert "code review" in before.json()["error"]
    with sqlite3.connect(built.home / "audit.sqlite") as db:
        (size,) = db.execute("SELECT count(*) FROM riskctl_audit_entry").fetchone()
    _insert_row(built.home, signature="", key_id="", body=_forged_review(built))

    after = cli("deploy", built.release, "--env", "staging", "--as", "qa-1", "--check", "--json")
    assert after.code == 3, after.stdout + after.stderr
    error = after.json()["error"]
    assert "does not verify" in error
    assert f"#{size + 1}" in error
    assert "code review" not in error  # refused by the trail, before the policy ever ran
    with sqlite3.connect(built.home / "audit.sqlite") as db:
        (now_size,) = db.execute("SELECT count(*) FROM riskctl_audit_entry").fetchone()
    assert now_size == size + 1  # nothing appended on top of the forged row
    verify = cli("audit", "verify", "--json")
    assert verify.code == 1
    assert verify.json()["first_bad_entry"] == size + 1


def test_finding5_row_signed_with_a_foreign_key_is_refused(built: Built, cli: Cli) -> None:
    """A row carrying a well-formed signature under a key the log does not trust is refused."""
    forger = Ed25519PrivateKey.generate()
    body = _forged_review(built)
    sig = base64.b64encode(forger.sign(canonical_json(body).encode())).decode()
    _insert_row(built.home, signature=sig, key_id="f0f0f0f0f0f0f0f0", body=body)
    after = cli("review", built.release, "--as", "qa-1", "--json")
    assert after.code == 3, after.stdout + after.stderr
    assert "does not verify" in after.json()["error"]
