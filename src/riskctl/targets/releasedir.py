"""Immutable release directories: a virtualenv built from the release's wheel and lock.

The locked dependencies are installed once per lock digest into a shared, read-only
dependency environment (``$RISKCTL_HOME/deps/<lock sha256>``); each release venv links it in
with a ``.pth`` file and installs only its own wheel. A release whose lock changed gets a new
dependency environment, so a release never sees packages other than its lock's. Both are built
in a temporary directory and renamed into place, so a half-built one is never used.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from riskctl._proc import run
from riskctl.errors import DeployFailedError
from riskctl.targets.verify import verify_installed, verify_release_files

__all__ = ["DEPS_PTH", "ensure_deps", "ensure_venv", "site_packages"]

MARKER = ".complete"
#: The .pth file that links a release venv to its dependency environment.
DEPS_PTH = "_riskctl_deps.pth"


def site_packages(venv: Path) -> Path:
    """The purelib directory of ``venv`` (same Python as the controller)."""
    rel = Path(sysconfig.get_path("purelib", vars={"base": "", "platbase": ""}).lstrip("/"))
    return venv / rel


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _steps(steps: list[list[str]]) -> None:
    for step in steps:
        try:
            run(step, env=_env(), timeout=1800)
        except subprocess.CalledProcessError as exc:
            tail = exc.stderr.decode(errors="replace").strip().splitlines()[-2:]
            raise DeployFailedError(
                f"cannot build the release environment: {' | '.join(tail)}"
            ) from None


def _pip(host: str, venv: Path) -> list[str]:
    return [host, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q"]


def ensure_deps(home: Path, lock: Path, python: str | None = None) -> Path | None:
    """The shared dependency environment of ``lock`` (None when it pins nothing)."""
    # Imported here: `riskctl abort` loads this module and never installs (issue 11).
    from riskctl.gates.depaudit import locked_packages  # noqa: PLC0415

    if not locked_packages(lock):
        return None
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    final = home / "deps" / digest
    if (final / MARKER).exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    host = python or sys.executable
    venv = final.with_name(final.name + ".partial")
    shutil.rmtree(venv, ignore_errors=True)
    try:
        _steps(
            [
                [host, "-m", "venv", "--without-pip", str(venv)],
                [*_pip(host, venv), "--require-hashes", "--no-deps", "-r", str(lock)],
            ]
        )
        (venv / MARKER).write_text("ok\n", encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        venv.rename(final)
    finally:
        shutil.rmtree(venv, ignore_errors=True)
    return final


def ensure_venv(release_dir: Path, wheel: str, python: str | None = None, *, digest: str) -> Path:
    """The release's virtualenv (created once; a half-built one is discarded and rebuilt).

    ``release_dir`` lives in ``$RISKCTL_HOME/releases``; the dependency environment in
    ``$RISKCTL_HOME/deps``. Every call — before the install and before every start — first
    re-hashes the release's files against its audited ``digest`` and the installed files
    against the wheel (:mod:`riskctl.targets.verify`).
    """
    verify_release_files(release_dir, wheel, digest)
    venv = release_dir / "venv"
    if (venv / MARKER).exists():
        verify_installed(site_packages(venv), release_dir / wheel)
        return venv
    if venv.exists():
        shutil.rmtree(venv)
    from riskctl.build.release import LOCK_NAME  # noqa: PLC0415 - only when installing

    host = python or sys.executable
    home = release_dir.parent.parent
    deps = ensure_deps(home, release_dir / LOCK_NAME, host)
    _steps([[host, "-m", "venv", "--without-pip", str(venv)]])
    if deps is not None:
        # A .pth line is a directory added to sys.path after the venv's own site-packages.
        (site_packages(venv) / DEPS_PTH).write_text(f"{site_packages(deps)}\n", encoding="utf-8")
    _steps([[*_pip(host, venv), "--no-deps", str(release_dir / wheel)]])
    verify_installed(site_packages(venv), release_dir / wheel)
    (venv / MARKER).write_text("ok\n", encoding="utf-8")
    return venv
