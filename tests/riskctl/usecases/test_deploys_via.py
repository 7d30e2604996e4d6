"""`riskctl deploy --via COMMAND`: policy and audit around a deploy a command carries out (e.g.
rendered manifests applied to a cluster). Real subprocesses; the command is the test's own."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from tests.riskctl.conftest import Built, Cli

SCRIPT = """\
import json, os, sys
from pathlib import Path
keys = ("RISKCTL_RELEASE", "RISKCTL_DIGEST", "RISKCTL_VERSION", "RISKCTL_ENV", "RISKCTL_STRATEGY")
Path(sys.argv[1]).write_text(json.dumps({k: os.environ[k] for k in keys}))
sys.stdout.buffer.write(b"applied \\xff not utf-8\\n")
sys.exit(int(sys.argv[2]))
"""


def _via(tmp_path: Path, status: int) -> tuple[str, Path]:
    script = tmp_path / "deployer.py"
    script.write_text(SCRIPT, encoding="utf-8")
    marker = tmp_path / f"ran-{status}.json"
    return shlex.join([sys.executable, str(script), str(marker), str(status)]), marker


def test_via_runs_the_command_after_the_policy_and_records_the_outcome(
    built: Built, cli: Cli, tmp_path: Path
) -> None:
    """Allowed: the command gets the release in its environment, exit 0 is deploy.succeeded and
    the environment's current release; exit 4 is deploy.failed, exit 1."""
    command, marker = _via(tmp_path, 0)
    out = cli("deploy", built.release, "--env", "dev", "--as", "eng-1", "--via", command, "--json")
    assert out.code == 0, out.stderr
    seen = json.loads(marker.read_text(encoding="utf-8"))
    assert seen["RISKCTL_RELEASE"] == built.release
    assert seen["RISKCTL_DIGEST"] == built.digest
    assert (seen["RISKCTL_ENV"], seen["RISKCTL_STRATEGY"]) == ("dev", "recreate")
    assert out.json()["phase"] == "Healthy"
    assert any(f"deployed {built.release} to dev" in step for step in out.json()["steps"])
    actions = cli.audit_actions()
    assert actions[-2:] == ["deploy.started", "deploy.succeeded"]
    assert "applied" in out.stderr  # the command's output, passed through as it came
    history = cli("history", "--json").json()
    assert "dev" in history["releases"][0]["environments"]

    failing, marker = _via(tmp_path, 4)
    out = cli("deploy", built.release, "--env", "dev", "--as", "eng-1", "--via", failing)
    assert out.code == 1
    assert "exited with status 4" in out.stderr
    assert marker.exists()
    assert cli.audit_actions()[-1] == "deploy.failed"


def test_via_is_not_run_when_the_policy_refuses(built: Built, cli: Cli, tmp_path: Path) -> None:
    """A refused deploy exits 3 and the command never runs."""
    command, marker = _via(tmp_path, 0)
    out = cli("deploy", built.release, "--env", "prod", "--as", "sre-1", "--via", command)
    assert out.code == 3
    assert not marker.exists()
    assert cli.audit_actions()[-1] == "deploy.refused"


def test_via_usage_errors(built: Built, cli: Cli) -> None:
    """Unparseable or missing commands, or --via with --check, exit 2 with one line."""
    for extra in (["--via", "'unclosed"], ["--via", ""], ["--via", "true", "--check"]):
        out = cli("deploy", built.release, "--env", "dev", "--as", "eng-1", *extra)
        assert out.code == 2, (extra, out.stderr)
        assert out.stderr.strip().count("\n") == 0, out.stderr
    missing = cli("deploy", built.release, "--env", "dev", "--as", "eng-1", "--via", "no-such-x")
    assert missing.code == 2
    assert "no-such-x" in missing.stderr
    assert "deploy.started" not in cli.audit_actions()  # refused before anything was recorded
