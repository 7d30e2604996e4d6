"""A reproducible wheel: built from an exported tree with ``SOURCE_DATE_EPOCH`` = commit time."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import tomllib
from pathlib import Path

from riskctl._proc import run
from riskctl.errors import RiskctlError, UsageError

__all__ = ["build_wheel"]

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _backend_installed(source: Path) -> bool:
    """Whether every build requirement is already installed (then no isolated env is needed)."""
    try:
        data = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read pyproject.toml of the release: {exc}") from None
    for requirement in data.get("build-system", {}).get("requires", []):
        match = _NAME.match(requirement)
        if not match:
            return False
        try:
            importlib.metadata.version(match.group(1))
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


def build_wheel(python: str, source: Path, out: Path, epoch: int) -> Path:
    """Build the project in ``source`` into ``out`` and return the wheel's path."""
    out.mkdir(parents=True, exist_ok=True)
    args = [python, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q"]
    if _backend_installed(source):
        args.append("--no-build-isolation")
    args += ["-w", str(out), str(source)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch), "PIP_NO_INPUT": "1"}
    env.pop("PYTHONPATH", None)
    try:
        run(args, cwd=source, env=env, timeout=600)
    except subprocess.CalledProcessError as exc:
        tail = exc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RiskctlError("wheel build failed: " + " | ".join(tail)) from None
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 1:
        raise RiskctlError(f"wheel build produced {len(wheels)} wheels, expected one")
    return wheels[0]
