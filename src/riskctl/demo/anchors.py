"""The demo's audit anchors: a witness in its own directory beside the demo home, and the policy
lines that pin the audit key and the witness's key (issue 8, finding 4).

The witness runs as its own ``riskctl witness serve`` process (own key, own state), detached
like the demo's environments, and ``riskctl demo --clean`` stops it by its pid file.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

from riskctl.audit.anchors import log_verifier
from riskctl.signing import load_or_create_key

__all__ = ["WITNESS_NAME", "anchor_policy", "stop_witness"]

WITNESS_NAME = "demo-witness"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(directory: Path, log_vkey: str) -> tuple[str, str]:
    """Start the witness; (its URL, its verifier key) once it accepts connections."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    port = _free_port()
    args = [sys.executable, "-m", "riskctl", "witness", "serve", "--port", str(port)]
    args += ["--home", str(directory), "--name", WITNESS_NAME, "--log", log_vkey]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKCTL_")}
    log = directory / "witness.log"
    # Detached in its own session (it outlives this command, like the demo's environments);
    # posix_spawn leaves no Popen object behind to warn about a child still running.
    pid = os.posix_spawn(
        sys.executable,
        args,
        env,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
        ],
        setsid=True,
    )
    (directory / "witness.pid").write_text(f"{pid}\n", encoding="utf-8")
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if not _alive(pid) or time.monotonic() > deadline:
                raise RuntimeError(f"the demo's witness did not start (see {log})") from None
            time.sleep(0.1)
    vkey = (directory / "witness.vkey").read_text(encoding="utf-8").strip()
    return f"http://127.0.0.1:{port}", vkey


def anchor_policy(work: Path, home: Path) -> str:
    """Create the demo home's audit key, start the witness, and return the ``[audit]`` policy
    lines pinning both (appended to the demo's policy)."""
    audit_vkey = log_verifier(load_or_create_key(home / "keys", "audit")).vkey
    url, witness_vkey = _start(work / "witness", audit_vkey)
    return (
        "\n# The audit trail's anchors outside the demo home: its key and a witness.\n"
        "[audit]\n"
        f'public_key = "{audit_vkey}"\n'
        "[[audit.witnesses]]\n"
        f'name = "{WITNESS_NAME}"\n'
        f'url = "{url}"\n'
        f'public_key = "{witness_vkey}"\n'
    )


def stop_witness(work: Path) -> None:
    """Stop the demo's witness (by its pid file), if it runs."""
    pidfile = work / "witness" / "witness.pid"
    try:
        pid = int(pidfile.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; reaps it first when it is our own exited child (no zombie)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child (e.g. `riskctl demo --clean` in a later process)
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
