"""The audit trail anchored outside its home (issue 8, finding 4), through the CLI: the policy
pins the audit key and a witness (a real process); tail truncation and a rewrite under a new key
are detected, no new audit key is minted, and a witness that is down never blocks a command."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from riskctl.audit.anchors import log_verifier
from riskctl.audit.log import AuditLog, Record
from riskctl.audit.sqlite import SqliteAuditStore
from riskctl.signing import KeyPair, key_id
from tests.riskctl.conftest import Built, Cli
from tests.riskctl.fixture_project import commit_all
from tests.riskctl.witness.conftest import WitnessProcess


@dataclass
class Anchored:
    """A fixture home whose policy (committed delivery.toml) pins its audit key and a witness."""

    built: Built
    cli: Cli
    witness: WitnessProcess
    policy: str


def _pin(built: Built, audit_vkey: str, witness: WitnessProcess) -> str:
    section = (
        "\n[audit]\n"
        f'public_key = "{audit_vkey}"\n'
        "witness_timeout_s = 2.0\n"
        "[[audit.witnesses]]\n"
        'name = "test-witness"\n'
        f'url = "{witness.url}"\n'
        f'public_key = "{witness.vkey}"\n'
    )
    path = built.repo / "delivery.toml"
    path.write_text(path.read_text(encoding="utf-8") + section, encoding="utf-8")
    commit_all(built.repo, "pin the audit trail's anchors")
    return section


@pytest.fixture
def anchored(built: Built, cli: Cli, witness_factory: Callable[..., WitnessProcess]) -> Anchored:
    """Pinned policy, a witness, and a few commands' worth of cosigned checkpoints."""
    vkey = cli("audit", "public-key")
    assert vkey.code == 0, vkey.stderr
    witness = witness_factory([vkey.stdout.strip()])
    section = _pin(built, vkey.stdout.strip(), witness)
    repinned = cli("policy", "pin", "--as", "admin")  # the committed file is the policy in force
    assert repinned.code == 0, repinned.stderr
    for actor in ("eng-2", "qa-1"):
        out = cli("review", built.release, "--as", actor)
        assert out.code == 0, out.stderr
    return Anchored(built, cli, witness, section)


def _entries(built: Built) -> int:
    with sqlite3.connect(built.home / "audit.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM riskctl_audit_entry").fetchone()[0])


def test_anchored_trail_verifies_with_the_witness_cosignature(anchored: Anchored) -> None:
    """After each command the witness cosigned; verify shows it and says nothing unanchored."""
    out = anchored.cli("audit", "verify", "--json")
    assert out.code == 0, out.stdout + out.stderr
    report = out.json()
    assert report["anchored"] is True
    (w,) = report["witnesses"]
    assert w["cosigned_latest"] is True
    assert w["latest"] == _entries(anchored.built)
    text = anchored.cli("audit", "verify")
    assert "witness test-witness: latest checkpoint cosigned" in text.stdout


def test_unpinned_trail_says_plainly_it_is_not_anchored(cli: Cli) -> None:
    """With no pins the verification passes but says the trail is NOT anchored."""
    out = cli("audit", "verify")
    assert out.code == 0
    assert "NOT anchored" in out.stdout
    assert cli("audit", "verify", "--json").json()["anchored"] is False


def _cut_tail(built: Built) -> tuple[int, int]:
    """Delete every entry after the first checkpoint, with the later checkpoints, their
    cosignatures and witness-file lines (everything the home holds); (kept, before)."""
    before = _entries(built)
    with sqlite3.connect(built.home / "audit.sqlite") as db:
        cut = int(db.execute("SELECT MIN(tree_size) FROM riskctl_audit_checkpoint").fetchone()[0])
        triggers = db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        for (name,) in list(triggers):  # whoever can write the file can drop the guards
            db.execute(f"DROP TRIGGER {name}")
        db.execute("DELETE FROM riskctl_audit_entry WHERE seq > ?", (cut,))
        db.execute("DELETE FROM riskctl_audit_checkpoint WHERE tree_size > ?", (cut,))
        db.execute("DELETE FROM riskctl_audit_cosignature WHERE tree_size > ?", (cut,))
    lines = (built.home / "checkpoints.jsonl").read_text(encoding="utf-8").splitlines()
    kept = [ln for ln in lines if json.loads(ln)["tree_size"] <= cut]
    (built.home / "checkpoints.jsonl").write_text("".join(f"{ln}\n" for ln in kept), "utf-8")
    assert cut < before
    return cut, before


def test_finding4_tail_truncation_with_checkpoints_and_witness_lines_removed(
    anchored: Anchored,
) -> None:
    """Deleting the last entries with their checkpoints, cosignatures and witness-file lines
    (everything in the home) still fails: the witness remembers the larger tree."""
    cut, before = _cut_tail(anchored.built)
    out = anchored.cli("audit", "verify", "--json")
    assert out.code == 1
    report = out.json()
    assert report["first_bad_entry"] == cut + 1
    messages = " ".join(p["message"] for p in report["problems"])
    assert f"witness test-witness cosigned {before} entries" in messages


def test_finding4_cut_tail_is_refused_before_any_decision(anchored: Anchored) -> None:
    """A decision after the tail was cut is refused (exit 3): the witnesses' view is checked
    before the trail is folded, and nothing is appended on top of the cut trail."""
    cut, before = _cut_tail(anchored.built)
    out = anchored.cli(
        "deploy", anchored.built.release, "--env", "dev", "--as", "eng-1", "--check", "--json"
    )
    assert out.code == 3, out.stdout + out.stderr
    assert f"witness test-witness cosigned {before} entries" in out.json()["error"]
    assert _entries(anchored.built) == cut


def test_finding4_no_new_audit_key_is_minted_when_the_policy_pins_one(anchored: Anchored) -> None:
    """Deleting the audit key no longer lets riskctl mint a new one: every command refuses."""
    (anchored.built.home / "keys" / "audit.key").unlink()
    out = anchored.cli("review", anchored.built.release, "--as", "risk-1", "--json")
    assert out.code == 1
    assert "refusing to mint" in out.json()["error"]
    assert not (anchored.built.home / "keys" / "audit.key").exists()


def test_finding4_full_rewrite_under_a_new_key_is_detected(anchored: Anchored) -> None:
    """A history rewritten and re-signed under a new key is refused under the pinned key, and
    even a policy re-pinned to the new key cannot hide it: the witness holds a checkpoint
    signed by the original key."""
    built = anchored.built
    shutil.rmtree(built.home / "keys")
    (built.home / "audit.sqlite").unlink()
    (built.home / "checkpoints.jsonl").unlink()
    private = Ed25519PrivateKey.generate()
    keys = built.home / "keys"
    keys.mkdir()
    (keys / "audit.key").write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    forged = KeyPair(private, key_id(private.public_key()))
    log = AuditLog(SqliteAuditStore(built.home / "audit.sqlite"), forged,
                   built.home / "checkpoints.jsonl")  # fmt: skip
    log.append([Record("review.recorded", "eng-2", datetime(2026, 3, 2, 15, tzinfo=UTC),
                       release=built.digest)])  # fmt: skip
    log.checkpoint(datetime(2026, 3, 2, 15, tzinfo=UTC))
    log.store.close()

    refused = anchored.cli("audit", "verify", "--json")
    assert refused.code == 1
    assert "not the key the policy pins" in refused.json()["error"]

    # Committing a policy that names the forged key changes nothing: the policy in force is the
    # pinned one, and a re-pin needs a session, which the pinned key refuses to open on this home.
    edited = built.repo / "delivery.toml"
    edited.write_text(
        edited.read_text("utf-8").replace(anchored.policy.split('"')[1], log_verifier(forged).vkey),
        "utf-8",
    )
    commit_all(built.repo, "re-pin the audit key")
    repin = anchored.cli("policy", "pin", "--as", "admin")
    assert repin.code != 0
    assert "not the key the policy pins" in repin.stderr + repin.stdout
    out = anchored.cli("audit", "verify", "--json")
    assert out.code == 1
    assert "not the key the policy pins" in out.json()["error"]


def test_witness_down_is_reported_recorded_and_never_blocks(
    anchored: Anchored, witness_factory: Callable[..., WitnessProcess]
) -> None:
    """With the witness stopped a command still succeeds, warns, and records witness.failed;
    verify then fails the quorum until the witness is back and cosigns again."""
    anchored.witness.stop()
    out = anchored.cli("review", anchored.built.release, "--as", "risk-1")
    assert out.code == 0, out.stderr
    assert "witness test-witness did not cosign" in out.stderr
    assert anchored.cli.audit_actions()[-1] == "witness.failed"
    failed = anchored.cli("audit", "verify", "--json")
    assert failed.code == 1
    assert "the policy requires 1" in " ".join(p["message"] for p in failed.json()["problems"])

    log_vkey = anchored.cli("audit", "public-key").stdout.strip()
    back = witness_factory([log_vkey], port=anchored.witness.port)
    assert back.vkey == anchored.witness.vkey  # same directory, same key, same memory
    again = anchored.cli("review", anchored.built.release, "--as", "sre-1")
    assert again.code == 0, again.stderr
    assert "did not cosign" not in again.stderr
    assert anchored.cli("audit", "verify").code == 0


def test_witnesses_without_a_pinned_key_still_checked_and_the_gap_named(
    anchored: Anchored,
) -> None:
    """Pinning only witnesses still checks them (and a truncation would show), but verify says
    the audit key is NOT pinned and does not call the trail anchored."""
    path = anchored.built.repo / "delivery.toml"
    text = path.read_text("utf-8")
    path.write_text(
        "\n".join(ln for ln in text.splitlines() if not ln.startswith('public_key = "riskctl'))
        + "\n",
        "utf-8",
    )
    commit_all(anchored.built.repo, "unpin the audit key")
    repinned = anchored.cli("policy", "pin", "--as", "admin")
    assert repinned.code == 0, repinned.stderr
    out = anchored.cli("audit", "verify", "--json")
    assert out.code == 0, out.stdout + out.stderr
    report = out.json()
    assert report["anchored"] is False
    assert any("audit key is NOT pinned" in n for n in report["notes"])
    assert report["witnesses"][0]["cosigned_latest"] is True
