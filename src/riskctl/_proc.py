"""Running external programs: one place, no shell, arguments always a list."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from riskctl.errors import UsageError

__all__ = ["free_port", "run", "spawn", "stop", "which"]


def which(program: str, extra_path: Sequence[Path] = ()) -> str:
    """The absolute path of ``program`` (searching ``extra_path`` first), or a usage error."""
    search = os.pathsep.join([*(str(p) for p in extra_path), os.environ.get("PATH", "")])
    found = shutil.which(program, path=search)
    if found is None:
        raise UsageError(f"required program {program!r} not found on PATH")
    return found


def run(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``args`` capturing output; ``check`` raises ``CalledProcessError`` on failure."""
    return subprocess.run(  # noqa: S603 - argv list, no shell, program resolved by which()
        list(args),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=check,
    )


def spawn(
    args: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``args`` in the background with output discarded (caller must :func:`stop` it)."""
    return subprocess.Popen(  # noqa: S603 - argv list, no shell
        list(args),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Terminate ``proc`` and wait; kill it if it does not exit within ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
