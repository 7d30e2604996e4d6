"""scripts/ci/gha.py: the workflow's glue between riskctl's JSON and GitHub Actions."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ci" / "gha.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gha", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gha = _module()


def test_outputs_prints_key_value_lines() -> None:
    """Scalar values come out as KEY=value lines for $GITHUB_OUTPUT."""
    doc = {"release": "rel-0123abcd", "digest": "sha256:" + "ab" * 32}
    assert gha.outputs(doc, ["release", "digest"]) == [
        "release=rel-0123abcd",
        "digest=sha256:" + "ab" * 32,
    ]


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"release": None}, "missing"),
        ({"release": ["a"]}, "not a single value"),
        ({"release": "x\ny=1"}, "unexpected characters"),
        ([], "JSON object"),
    ],
)
def test_outputs_refuses_what_could_mislead_a_step(doc: object, match: str) -> None:
    """A missing, structured or multi-line value is an error, never an empty or injected output."""
    with pytest.raises(gha.GlueError, match=match):
        gha.outputs(doc, ["release"])


def test_rollout_in_progress_reads_riskctl_status() -> None:
    """A canary release in the environment means a rollout is in progress."""
    status = {"environments": {"prod": {"canary_release": "rel-2", "stable_release": "rel-1"}}}
    assert gha.rollout_in_progress(status, "prod") is True
    status["environments"]["prod"]["canary_release"] = None
    assert gha.rollout_in_progress(status, "prod") is False
    with pytest.raises(gha.GlueError, match="no environment"):
        gha.rollout_in_progress(status, "staging")


def test_command_line_exit_codes(tmp_path: Path) -> None:
    """0 with output on success; 1 with a one-line message on stderr otherwise."""
    build = tmp_path / "build.json"
    build.write_text(json.dumps({"release": "rel-0123abcd"}), encoding="utf-8")
    ok = subprocess.run(
        [sys.executable, str(SCRIPT), "outputs", str(build), "release"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (ok.returncode, ok.stdout) == (0, "release=rel-0123abcd\n")
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), "outputs", str(tmp_path / "missing.json"), "release"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.startswith("gha.py outputs: cannot read JSON")


def test_no_identity_glue_is_left() -> None:
    """The glue no longer derives who acts (the approver's login was an asserted identity):
    the `approver` command is gone and the CLI refuses it."""
    assert not hasattr(gha, "approver")
    gone = subprocess.run(
        [sys.executable, str(SCRIPT), "approver", "x.json", "production"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert gone.returncode == 2
