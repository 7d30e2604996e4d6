"""Gates cannot reach the keys (issue 8, finding 2): the release's code runs sandboxed, with a
scrubbed environment, in a work tree outside the home; without isolation, counted gates are
refused."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import sys
import tempfile
from pathlib import Path

import pytest

from riskctl.config import GateSpec
from riskctl.gates import GateContext, make_gate
from riskctl.gates.sandbox import Isolation, Sandbox, choose, probe, scrubbed_environment
from riskctl.model import GateStatus
from tests.riskctl.conftest import Built, Cli
from tests.riskctl.fixture_project import plant_forging_test


def _entries(home: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(home / "audit.sqlite") as db:
        return list(db.execute("SELECT seq, body FROM riskctl_audit_entry ORDER BY seq"))


def _secret_home(tmp_path: Path) -> Path:
    """A home laid out as riskctl's: a private key and an audit store."""
    home = tmp_path / "home"
    (home / "keys").mkdir(parents=True)
    (home / "keys" / "audit.key").write_bytes(b"secret")
    (home / "audit.sqlite").write_bytes(b"")
    return home


def test_finding2_gate_cannot_read_audit_key(built: Built, cli: Cli) -> None:
    """A committed test that reads keys/audit.key and appends an approval reaches neither; the
    gate fails, the store holds only riskctl's own entries and the trail verifies."""
    plant_forging_test(built.repo, built.home)
    out = cli("build", "--json")
    assert out.code == 0, out.stderr
    release = out.json()["release"]
    key_before = (built.home / "keys" / "audit.key").read_bytes()
    before = _entries(built.home)

    gated = cli("gates", release, "--only", "unit", "--json")

    assert gated.code == 1, gated.stdout + gated.stderr
    log = (built.home / "logs" / release / "unit.log").read_text(encoding="utf-8")
    assert "2 failed" in log
    assert "KEY-READ" not in log
    assert "STORE-APPENDED" not in log
    assert "key refused" in log
    assert "store refused" in log
    after = _entries(built.home)
    assert after[: len(before)] == before
    added = [body for _seq, body in after[len(before) :]]
    assert added
    assert all('"approval.recorded"' not in body for body in added)
    assert "review.recorded" not in cli.audit_actions()[len(before) :]
    assert (built.home / "keys" / "audit.key").read_bytes() == key_before
    assert cli("audit", "verify").code == 0


def test_gate_results_record_their_isolation(built: Built, cli: Cli) -> None:
    """Each recorded gate result says which sandbox it ran in (bubblewrap on this machine)."""
    assert cli("gates", built.release, "--only", "lint").code == 0
    session_actions = cli.audit_actions()
    assert session_actions[-1] == "gates.completed"
    bodies = [b for _s, b in _entries(built.home) if '"gate.result"' in b]
    assert '"isolation": "bwrap"' in bodies[-1] or '"isolation":"bwrap"' in bodies[-1]


def test_counted_gates_are_refused_without_isolation(built: Built, cli: Cli) -> None:
    """With no isolation, a gate that counts in staging/prod is refused before anything runs,
    and the refusal is recorded."""
    before = len(_entries(built.home))
    refused = cli("gates", built.release, "--only", "unit", RISKCTL_GATE_ISOLATION="none")
    assert refused.code == 3
    assert "no gate isolation is available" in refused.stderr
    actions = cli.audit_actions()[before:]
    assert "gates.refused" in actions
    assert "gate.result" not in actions


def test_uid_isolation_refused_when_the_store_is_readable(built: Built, cli: Cli) -> None:
    """Running as another uid only protects private files: an audit store others may read is
    found by the probe and the gates are refused; once it is private (0600) they run. Not as
    root, the uid mode cannot be had, and asking for it is an error, never a silent downgrade."""
    if os.geteuid() != 0:
        forced = cli("gates", built.release, "--only", "lint", RISKCTL_GATE_ISOLATION="uid")
        assert forced.code == 2, forced.stdout + forced.stderr
        assert "cannot run here" in forced.stderr
        return
    shared = Path(tempfile.mkdtemp(prefix="riskctl-store-"))
    try:
        shared.chmod(0o755)
        store = shared / "audit.sqlite"
        shutil.copy2(built.home / "audit.sqlite", store)
        store.chmod(0o644)
        env = {"RISKCTL_GATE_ISOLATION": "uid", "RISKCTL_DATABASE_URL": f"sqlite:///{store}"}
        refused = cli("gates", built.release, "--only", "lint", **env)
        assert refused.code == 3, refused.stderr
        assert f"read {store}" in refused.stderr
        store.chmod(0o600)
        allowed = cli("gates", built.release, "--only", "lint", **env)
        assert allowed.code == 0, allowed.stdout + allowed.stderr
    finally:
        shutil.rmtree(shared)


def test_probe_sees_through_no_isolation_but_not_through_bwrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe finds the key when nothing isolates (so it can fail); inside bubblewrap the
    same key, asked for by its absolute path, is out of reach."""
    home = _secret_home(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    secrets = [home, home / "keys", home / "keys" / "audit.key", home / "audit.sqlite"]
    open_sandbox = Sandbox(Isolation.NONE, work)
    assert f"read {home / 'keys' / 'audit.key'}" in probe(open_sandbox, sys.executable, secrets)
    monkeypatch.setenv("RISKCTL_GATE_ISOLATION", "bwrap")
    sandbox = choose(work, sys.executable)
    assert sandbox.isolation is Isolation.BWRAP
    assert probe(sandbox, sys.executable, secrets) == []


def _ctx(tmp_path: Path, sandbox: Sandbox) -> GateContext:
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    return GateContext(source, tmp_path, sys.executable, tmp_path / "lock", tmp_path, sandbox)


def test_gate_environment_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gate command sees the allow-list only: none of riskctl's variables nor the caller's
    secrets, even when a gate's own env tries to pass a RISKCTL_ one."""
    monkeypatch.setenv("RISKCTL_ACTOR", "risk-1")
    monkeypatch.setenv("RISKCTL_DATABASE_URL", "postgresql://riskctl:pw@db/audit")
    monkeypatch.setenv("CLOUD_SECRET_TOKEN", "s3cr3t")
    env = scrubbed_environment(
        python=sys.executable, source=tmp_path, work=tmp_path, extra={"RISKCTL_HOME": "/x"}
    )
    assert not [k for k in env if k.startswith("RISKCTL_") or k == "CLOUD_SECRET_TOKEN"]
    dump = "import os, json, sys; json.dump(sorted(os.environ), open(sys.argv[1], 'w'))"
    ctx = _ctx(tmp_path, choose(tmp_path, sys.executable))
    spec = GateSpec.model_validate(
        {
            "commands": [["{python}", "-c", dump, "{work}/env.json"]],
            "env": {"GATE_OWN": "1", "RISKCTL_HOME": "{work}"},
        }
    )
    result = make_gate("env", spec).run(ctx)
    assert result.status is GateStatus.PASSED, result.log
    seen = (tmp_path / "env.json").read_text()
    assert "GATE_OWN" in seen
    assert "PYTHONPATH" in seen
    assert "RISKCTL" not in seen
    assert "CLOUD_SECRET_TOKEN" not in seen


def test_sandboxed_gate_has_no_network_unless_asked(tmp_path: Path) -> None:
    """A sandboxed gate cannot connect to a service on the host's loopback (e.g. a PostgreSQL
    audit store) unless its spec says network = "host"."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    connect = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
    ctx = _ctx(tmp_path, choose(tmp_path, sys.executable))
    try:
        cut = GateSpec.model_validate({"commands": [["{python}", "-c", connect]]})
        assert make_gate("net", cut).run(ctx).status is GateStatus.FAILED
        host = GateSpec.model_validate(
            {"commands": [["{python}", "-c", connect]], "network": "host"}
        )
        assert make_gate("net", host).run(ctx).status is GateStatus.PASSED
    finally:
        listener.close()
