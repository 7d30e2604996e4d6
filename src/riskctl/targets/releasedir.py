"""Immutable release directories: a virtualenv built from the release's wheel and lock."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from riskctl._proc import run
from riskctl.build.release import LOCK_NAME
from riskctl.errors import DeployFailedError
from riskctl.gates.depaudit import locked_packages

__all__ = ["ensure_venv"]

MARKER = ".complete"


def ensure_venv(release_dir: Path, wheel: str, python: str | None = None) -> Path:
    """The release's virtualenv (created once; a half-built one is discarded and rebuilt)."""
    venv = release_dir / "venv"
    if (venv / MARKER).exists():
        return venv
    if venv.exists():
        shutil.rmtree(venv)
    host = python or sys.executable
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    steps: list[list[str]] = [[host, "-m", "venv", "--without-pip", str(venv)]]
    pip = [host, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q"]
    lock = release_dir / LOCK_NAME
    if locked_packages(lock):
        steps.append([*pip, "--require-hashes", "--no-deps", "-r", str(lock)])
    steps.append([*pip, "--no-deps", str(release_dir / wheel)])
    for step in steps:
        try:
            run(step, env=env, timeout=1800)
        except subprocess.CalledProcessError as exc:
            tail = exc.stderr.decode(errors="replace").strip().splitlines()[-2:]
            raise DeployFailedError(
                f"cannot build the release environment: {' | '.join(tail)}"
            ) from None
    (venv / MARKER).write_text("ok\n", encoding="utf-8")
    return venv
