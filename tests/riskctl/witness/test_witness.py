"""The witness (a real `riskctl witness serve` process): cosigns only consistent checkpoints
signed by the log's key, in the C2SP tlog-witness manner; refuses forks, strangers and bad input."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from riskctl.audit import merkle
from riskctl.audit.anchors import (
    Anchors,
    PinnedWitness,
    cosign_latest,
    log_verifier,
    signed_checkpoint,
)
from riskctl.audit.log import AuditLog, Record
from riskctl.audit.note import Verifier, parse_checkpoint, parse_cosignature, split_note
from riskctl.audit.sqlite import SqliteAuditStore
from riskctl.cli import app
from riskctl.signing import load_or_create_key
from riskctl.witness.core import configure_logs
from tests.riskctl.witness.conftest import WitnessProcess

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _log(root: Path, keys: Path, actors: list[str]) -> AuditLog:
    """An audit log in ``root`` (key in ``keys``) with one entry per actor and a checkpoint."""
    log = AuditLog(SqliteAuditStore(root / "audit.sqlite"), load_or_create_key(keys, "audit"),
                   root / "cp.jsonl")  # fmt: skip
    for i, actor in enumerate(actors):
        log.append([Record("review.recorded", actor, T0 + timedelta(minutes=i))])
    log.checkpoint(T0 + timedelta(minutes=len(actors)))
    return log


def _anchors(w: WitnessProcess) -> Anchors:
    return Anchors(
        witnesses=(PinnedWitness("test-witness", w.url, Verifier.parse(w.vkey)),),
        quorum=1,
    )


def _post(w: WitnessProcess, body: str) -> httpx.Response:
    return httpx.post(w.url + "/add-checkpoint", content=body.encode(), timeout=10)


def test_witness_cosigns_a_consistent_sequence(
    tmp_path: Path, witness_factory: Callable[..., WitnessProcess]
) -> None:
    """First checkpoint from size 0, then a larger one with a consistency proof: both
    cosigned, and the witness reports the latest as its view."""
    log = _log(tmp_path / "a", tmp_path / "keys", ["a1", "a2", "a3"])
    w = witness_factory([log_verifier(log.key).vkey])
    (first,) = cosign_latest(log, _anchors(w))
    assert first.cosignature is not None, first.error
    for i in range(4, 9):
        log.append([Record("review.recorded", f"a{i}", T0)])
    log.checkpoint(T0 + timedelta(hours=1))
    (second,) = cosign_latest(log, _anchors(w))
    assert second.cosignature is not None, second.error
    seen = httpx.get(w.url + "/checkpoint", params={"origin": "riskctl-audit/v1"}, timeout=10)
    text, _ = split_note(seen.text)
    assert parse_checkpoint(text).size == 8
    assert len(log.store.cosignatures()) == 2


def test_witness_refuses_forked_checkpoint(
    tmp_path: Path, witness_factory: Callable[..., WitnessProcess]
) -> None:
    """A fork (same key, same first entries, then different ones) is refused: 422 for a larger
    checkpoint whose proof cannot verify, 409 for a different root at the cosigned size; the
    witness's view does not move."""
    honest = _log(tmp_path / "honest", tmp_path / "keys", ["a", "b", "c", "d", "e"])
    w = witness_factory([log_verifier(honest.key).vkey])
    assert cosign_latest(honest, _anchors(w))[0].cosignature is not None
    forked = _log(tmp_path / "fork", tmp_path / "keys", ["a", "b", "c", "X", "e", "f"])
    cp = forked.store.checkpoints()[-1]
    _, note = signed_checkpoint(cp, log_verifier(forked.key))
    leaves = [bytes.fromhex(e.leaf_hash) for e in forked.store.entries()]
    proof = merkle.consistency_proof(5, leaves)
    body = "old 5\n" + "".join(f"{_b64(p)}\n" for p in proof) + "\n" + note
    refused = _post(w, body)
    assert refused.status_code == 422
    same_size = _log(tmp_path / "fork5", tmp_path / "keys", ["a", "b", "c", "X", "e"])
    _, note5 = signed_checkpoint(same_size.store.checkpoints()[-1], log_verifier(same_size.key))
    conflict = _post(w, "old 5\n\n" + note5)
    assert conflict.status_code == 409
    assert conflict.text == "5\n"
    assert conflict.headers["content-type"].startswith("text/x.tlog.size")
    seen = httpx.get(w.url + "/checkpoint", params={"origin": "riskctl-audit/v1"}, timeout=10)
    assert parse_checkpoint(split_note(seen.text)[0]).root == merkle.root(
        [bytes.fromhex(e.leaf_hash) for e in honest.store.entries()]
    )


def test_witness_refuses_a_checkpoint_under_another_key(
    tmp_path: Path, witness_factory: Callable[..., WitnessProcess]
) -> None:
    """A log rewritten under a new key cannot get a cosignature: 403."""
    honest = _log(tmp_path / "honest", tmp_path / "keys", ["a"])
    w = witness_factory([log_verifier(honest.key).vkey])
    rewritten = _log(tmp_path / "rewritten", tmp_path / "other-keys", ["a", "b"])
    (outcome,) = cosign_latest(rewritten, _anchors(w))
    assert outcome.cosignature is None
    assert "403" in outcome.error


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("old 0\n", 400),  # no blank line, no checkpoint
        ("new 0\n\nx\n", 400),
        ("old 00\n\n", 400),
        ("old 0\nAB==\n\n", 400),  # proof hash: non-canonical and not 32 bytes
        ("old 0\n\nother.example/log\n1\n" + "A" * 43 + "=\n\n\u2014 x AAAA\n", 404),
    ],
)
def test_witness_refuses_malformed_requests(
    tmp_path: Path, witness_factory: Callable[..., WitnessProcess], body: str, status: int
) -> None:
    """Malformed requests are 400, an unknown origin 404; nothing is cosigned."""
    log = _log(tmp_path / "a", tmp_path / "keys", ["a"])
    w = witness_factory([log_verifier(log.key).vkey])
    assert _post(w, body).status_code == status
    assert httpx.get(w.url + "/checkpoint", params={"origin": "riskctl-audit/v1"},
                     timeout=10).status_code == 404  # fmt: skip


def test_witness_tells_its_size_and_the_client_catches_up(
    tmp_path: Path, witness_factory: Callable[..., WitnessProcess]
) -> None:
    """A client that lost its record of the witness's size gets 409 with the size and retries
    from there with a proof (tlog-witness 'old' handling)."""
    log = _log(tmp_path / "a", tmp_path / "keys", ["a", "b", "c"])
    w = witness_factory([log_verifier(log.key).vkey])
    assert cosign_latest(log, _anchors(w))[0].cosignature is not None
    fresh = _log(tmp_path / "b", tmp_path / "keys", ["a", "b", "c"])  # same entries, no record
    for actor in ("d", "e"):
        fresh.append([Record("review.recorded", actor, T0)])
    fresh.checkpoint(T0 + timedelta(hours=1))
    # Identical first three entries need identical bodies: same actors, same times.
    (outcome,) = cosign_latest(fresh, _anchors(w))
    assert outcome.cosignature is not None, outcome.error
    verifier = Verifier.parse(w.vkey)
    text, _ = signed_checkpoint(fresh.store.checkpoints()[-1], log_verifier(fresh.key))
    assert parse_cosignature(outcome.cosignature.line, text, verifier).name == "test-witness"


def test_witness_state_survives_a_restart(
    tmp_path: Path, witness_factory: Callable[..., WitnessProcess]
) -> None:
    """Its key and last cosigned checkpoint are in its own directory: after a restart it still
    refuses the fork it would have refused before, under the same key."""
    log = _log(tmp_path / "a", tmp_path / "keys", ["a", "b"])
    w = witness_factory([log_verifier(log.key).vkey])
    assert cosign_latest(log, _anchors(w))[0].cosignature is not None
    w.stop()
    again = witness_factory([], port=w.port)  # the log is remembered in its directory
    assert again.vkey == w.vkey
    fork = _log(tmp_path / "fork", tmp_path / "keys", ["a", "X"])
    _, note = signed_checkpoint(fork.store.checkpoints()[-1], log_verifier(fork.key))
    assert _post(again, "old 2\n\n" + note).status_code == 409


def test_witness_serve_refuses_bad_configuration(tmp_path: Path) -> None:
    """No log at all, a malformed key, or a known log under another key: exit 2, nothing
    served, the remembered key unchanged."""
    first = log_verifier(load_or_create_key(tmp_path / "k1", "audit")).vkey
    other = log_verifier(load_or_create_key(tmp_path / "k2", "audit")).vkey
    home = tmp_path / "w"
    base = ["witness", "serve", "--port", "1", "--home", str(home)]
    empty = CliRunner().invoke(app, base)
    assert empty.exit_code == 2
    assert "no log to witness" in empty.stderr
    bad = CliRunner().invoke(app, [*base, "--log", first.replace("+", "+x", 1)])
    assert bad.exit_code == 2
    configure_logs(home, {"riskctl-audit/v1": Verifier.parse(first)})
    rekeyed = CliRunner().invoke(app, [*base, "--log", other])
    assert rekeyed.exit_code == 2
    assert "another key" in rekeyed.stderr
    assert (home / "logs").read_text(encoding="utf-8") == first + "\n"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
