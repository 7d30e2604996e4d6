"""`riskctl demo` tells the whole story to the end (the README's first command)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
RISKCTL = str(Path(sys.executable).parent / "riskctl")


@pytest.mark.slow
@pytest.mark.integration
def test_demo_runs_to_the_end(tmp_path: Path) -> None:
    """v1 to prod with a refusal, v2 canaried, v3 blocked by shadow, v4 rolled back, audit OK."""
    git = shutil.which("git")
    assert git is not None
    # A repository of the current source tree (the suite may run from a release's source
    # snapshot, which is not a git checkout, e.g. as `riskctl gates`' test gate).
    clone = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        clone,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", ".riskctl*", "var", "__pycache__", ".*_cache", ".coverage*",
            ".hypothesis", ".schemathesis", "coverage.xml",
        ),
    )  # fmt: skip
    who = ["-c", "user.name=eng-1", "-c", "user.email=eng-1@example.com"]
    for args in (["init", "-q"], ["add", "-A"], [*who, "commit", "-q", "-m", "demo base"]):
        subprocess.run([git, *args], cwd=clone, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RISKCTL_", "RISK_SERVICE_"))}
    env["COLUMNS"] = "200"
    try:
        done = subprocess.run(
            [RISKCTL, "demo"], cwd=clone, env=env, capture_output=True, text=True,
            timeout=900, check=False,
        )  # fmt: skip
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        assert "cannot approve" in output  # the refusal, exit 3
        assert "canary weight 50 %" in output  # v2's canary steps
        assert "shadow comparison BLOCKED" in output  # v3
        assert "+50.00 %" in output
        assert "analysis failed" in output  # v4
        assert "rollback.performed" in output
        assert "http://127.0.0.1:8400" in output  # the dashboard of the story
        assert "resolved INC-" in output  # the incident v4's rollback opened
        assert "change failure rate   33 % (1 of 3 deploys)" in output  # v1, v2 ok; v4 aborted
        assert "audit trail OK" in output
        assert "witness demo-witness: latest checkpoint cosigned" in output  # issue 8
    finally:
        subprocess.run([RISKCTL, "demo", "--clean"], cwd=clone, env=env, check=False, timeout=120)
    assert not (clone / ".riskctl-demo").exists()
