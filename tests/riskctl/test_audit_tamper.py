"""Tamper trials on SQLite and PostgreSQL: every edit, deletion, reordering, insertion and
truncation is detected and the first bad entry named; an untouched log verifies."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from riskctl.audit import merkle
from riskctl.audit.log import AuditLog, Record, canonical_json
from riskctl.audit.postgres import PostgresAuditStore
from riskctl.audit.sqlite import SqliteAuditStore
from riskctl.audit.store import StoredCosignature
from riskctl.signing import load_or_create_key

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


Sql = str | tuple[str, dict[str, str]]


@dataclass
class Trial:
    """An audit log with 8 entries and checkpoints at 3, 6 and 8, plus raw SQL access."""

    log: AuditLog
    tamper: Callable[[list[Sql]], None]


def _fill(log: AuditLog) -> None:
    for seq in range(1, 9):
        log.append([Record("review.recorded", f"actor-{seq}", T0 + timedelta(minutes=seq))])
        if seq in (3, 6, 8):
            log.checkpoint(T0 + timedelta(minutes=seq))


def _execute(conn: sa.Connection, statements: list[Sql]) -> None:
    for statement in statements:
        if isinstance(statement, tuple):
            conn.execute(sa.text(statement[0]), statement[1])
        else:
            conn.execute(sa.text(statement))


@contextlib.contextmanager
def _sqlite_trial(tmp_path: Path) -> Iterator[Trial]:
    store = SqliteAuditStore(tmp_path / "audit.sqlite")
    log = AuditLog(store, load_or_create_key(tmp_path / "keys", "audit"), tmp_path / "cp.jsonl")
    _fill(log)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'audit.sqlite'}")

    def tamper(statements: list[Sql]) -> None:
        with engine.begin() as conn:
            names = conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type='trigger'"))
            for (name,) in list(names):  # an attacker with the file drops the guards
                conn.execute(sa.text(f"DROP TRIGGER {name}"))
            _execute(conn, statements)

    try:
        yield Trial(log, tamper)
    finally:
        engine.dispose()
        store.close()


@dataclass(frozen=True)
class Pg:
    """A throwaway database with a non-superuser application role."""

    admin_url: str
    app_url: str
    role: str


@pytest.fixture
def pg() -> Iterator[Pg]:
    """A fresh database on 127.0.0.1 and a LOGIN role that is not a superuser."""
    name = f"riskctl_t_{secrets.token_hex(4)}"
    role = f"riskctl_app_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
    try:
        yield Pg(
            admin_url=f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            app_url=f"postgresql+psycopg://{role}@127.0.0.1:5432/{name}",
            role=role,
        )
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


@contextlib.contextmanager
def _pg_trial(tmp_path: Path, pg: Pg) -> Iterator[Trial]:
    admin_store = PostgresAuditStore(pg.admin_url)
    admin_store.install(pg.role)
    admin_store.close()
    store = PostgresAuditStore(pg.app_url)
    store.check_ready()
    log = AuditLog(store, load_or_create_key(tmp_path / "keys", "audit"), tmp_path / "cp.jsonl")
    _fill(log)
    engine = sa.create_engine(pg.admin_url)

    def tamper(statements: list[Sql]) -> None:
        with engine.begin() as conn:
            # A superuser bypassing the append-only trigger.
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            _execute(conn, statements)

    try:
        yield Trial(log, tamper)
    finally:
        engine.dispose()
        store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def trial(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trial]:
    """The same trial on each store."""
    if request.param == "sqlite":
        with _sqlite_trial(tmp_path) as trial:
            yield trial
    else:
        with _pg_trial(tmp_path, request.getfixturevalue("pg")) as trial:
            yield trial


def _forged_body(seq: int) -> str:
    body = Record("deploy.succeeded", "mallory", T0).body(seq)
    return canonical_json(body)


TAMPERS: dict[str, tuple[list[str], int]] = {
    "edit": (
        ["UPDATE riskctl_audit_entry SET body = replace(body, 'actor-4', 'mallory') WHERE seq = 4"],
        4,
    ),
    "delete": (["DELETE FROM riskctl_audit_entry WHERE seq = 5"], 5),
    "reorder": (
        [
            "UPDATE riskctl_audit_entry SET seq = -2 WHERE seq = 2",
            "UPDATE riskctl_audit_entry SET seq = 2 WHERE seq = 3",
            "UPDATE riskctl_audit_entry SET seq = 3 WHERE seq = -2",
        ],
        2,
    ),
    "truncate": (["DELETE FROM riskctl_audit_entry WHERE seq > 6"], 7),
    "truncate-with-checkpoints": (
        [
            "DELETE FROM riskctl_audit_entry WHERE seq > 6",
            "DELETE FROM riskctl_audit_checkpoint WHERE tree_size > 6",
        ],
        7,
    ),
}


def test_untouched_log_verifies(trial: Trial) -> None:
    """A log nobody touched verifies: 8 entries, 3 checkpoints, nothing unanchored."""
    report = trial.log.verify()
    assert report.ok, report.problems
    assert (report.entries, report.checkpoints, report.unanchored) == (8, 3, 0)


@pytest.mark.parametrize("kind", list(TAMPERS))
def test_tampering_is_detected_and_first_bad_entry_named(trial: Trial, kind: str) -> None:
    """Each tampering makes verification fail and names the first bad entry."""
    statements, first_bad = TAMPERS[kind]
    trial.tamper(statements)
    report = trial.log.verify()
    assert not report.ok
    assert report.first_bad_entry == first_bad, report.problems


def test_edit_with_recomputed_hash_is_detected(trial: Trial) -> None:
    """Rewriting an entry and its leaf hash still fails: the signature and the root disagree."""
    body = json.loads(trial.log.store.entries()[2].body)
    body["actor"] = "mallory"
    text = canonical_json(body)
    leaf = merkle.leaf_hash(text.encode()).hex()
    trial.tamper(
        [
            (
                "UPDATE riskctl_audit_entry SET body = :body, leaf_hash = :leaf WHERE seq = 3",
                {"body": text, "leaf": leaf},
            )
        ]
    )
    report = trial.log.verify()
    assert report.first_bad_entry == 3
    assert any("signature" in p.message for p in report.problems)
    assert any("signed root" in p.message for p in report.problems)


def test_inserted_entry_is_detected(trial: Trial) -> None:
    """A forged entry slipped in at position 6 (later ones renumbered) is named."""
    text = _forged_body(6)
    leaf = merkle.leaf_hash(text.encode()).hex()
    sig = base64.b64encode(b"\x00" * 64).decode()
    key_id = trial.log.key.id
    trial.tamper(
        [
            "UPDATE riskctl_audit_entry SET seq = seq + 1000 WHERE seq >= 6",
            "UPDATE riskctl_audit_entry SET seq = seq - 999 WHERE seq >= 1006",
            (
                "INSERT INTO riskctl_audit_entry (seq, body, leaf_hash, key_id, signature) "
                "VALUES (6, :body, :leaf, :key, :sig)",
                {"body": text, "leaf": leaf, "key": key_id, "sig": sig},
            ),
        ]
    )
    report = trial.log.verify()
    assert report.first_bad_entry == 6


def test_appended_entries_after_last_checkpoint_are_reported_unanchored(trial: Trial) -> None:
    """Entries newer than the last checkpoint still verify one by one and are counted."""
    trial.log.append([Record("review.recorded", "actor-9", T0)])
    report = trial.log.verify()
    assert report.ok
    assert report.unanchored == 1


def test_checkpoint_with_bad_signature_is_reported(trial: Trial) -> None:
    """A checkpoint whose signature does not verify is a problem."""
    trial.tamper(
        [
            "UPDATE riskctl_audit_checkpoint SET created_at = '2020-01-01T00:00:00Z' "
            "WHERE tree_size = 3"
        ]
    )
    report = trial.log.verify()
    assert not report.ok
    assert any("bad signature" in p.message for p in report.problems)


@pytest.mark.postgres
def test_application_role_cannot_update_or_delete(tmp_path: Path, pg: Pg) -> None:
    """In PostgreSQL the app role may SELECT and INSERT but never UPDATE, DELETE or TRUNCATE."""
    with _pg_trial(tmp_path, pg) as trial:
        _assert_append_only(trial, pg)


def _assert_append_only(trial: Trial, pg: Pg) -> None:
    assert trial.log.verify().ok
    with psycopg.connect(pg.app_url.replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT count(*) FROM riskctl_audit_entry").fetchone() == (8,)
        for statement in (
            "UPDATE riskctl_audit_entry SET body = 'x' WHERE seq = 1",
            "DELETE FROM riskctl_audit_entry WHERE seq = 1",
            "TRUNCATE riskctl_audit_entry",
            "DELETE FROM riskctl_audit_checkpoint",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
    # Even the owner is stopped by the trigger unless it deliberately bypasses it.
    with psycopg.connect(pg.admin_url.replace("+psycopg", "")) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM riskctl_audit_entry WHERE seq = 1")
        conn.rollback()
    assert trial.log.verify().ok


def test_sqlite_guards_refuse_updates(tmp_path: Path) -> None:
    """SQLite triggers stop accidental UPDATE/DELETE (signatures stop deliberate ones)."""
    with _sqlite_trial(tmp_path) as trial:
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'audit.sqlite'}")
        with pytest.raises(sa.exc.IntegrityError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM riskctl_audit_entry WHERE seq = 1"))
        engine.dispose()
        assert trial.log.verify().ok


def _bend(b64: str) -> str:
    """The same bytes spelled non-canonically: non-zero padding bits in the last character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stem = b64.rstrip("=")
    last = alphabet.index(stem[-1])
    bent = stem[:-1] + alphabet[last | 1] + b64[len(stem) :]
    assert bent != b64
    assert base64.b64decode(bent) == base64.b64decode(b64)  # a lenient decoder cannot tell
    return bent


def test_finding_non_canonical_signature_encoding_is_detected(trial: Trial) -> None:
    """An entry's or a checkpoint's signature re-spelled in non-canonical base64 (same bytes)
    does not verify: one signature has exactly one valid encoding."""
    entry = trial.log.store.entries()[3]
    checkpoint = trial.log.store.checkpoints()[0]
    trial.tamper(
        [
            (
                "UPDATE riskctl_audit_entry SET signature = :sig WHERE seq = 4",
                {"sig": _bend(entry.signature)},
            ),
            (
                "UPDATE riskctl_audit_checkpoint SET signature = :sig WHERE tree_size = :n",
                {"sig": _bend(checkpoint.signature), "n": str(checkpoint.tree_size)},
            ),
        ]
    )
    report = trial.log.verify()
    assert report.first_bad_entry == 4
    assert any("signature" in p.message and p.seq == 4 for p in report.problems)
    assert any("bad signature" in p.message for p in report.problems)


@pytest.mark.postgres
def test_cosignatures_are_kept_append_only_in_postgres(tmp_path: Path, pg: Pg) -> None:
    """The application role stores and reads witness cosignatures but cannot delete them."""
    with _pg_trial(tmp_path, pg) as trial:
        cosig = StoredCosignature(8, "ab" * 32, "w1", "\u2014 w1 AAAA\n")
        trial.log.store.add_cosignature(cosig)
        trial.log.store.add_cosignature(cosig)  # the same one again is a no-op
        assert trial.log.store.cosignatures() == [cosig]
        with psycopg.connect(pg.app_url.replace("+psycopg", "")) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM riskctl_audit_cosignature")
            conn.rollback()
