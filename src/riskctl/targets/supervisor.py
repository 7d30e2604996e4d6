"""A supervisord instance under ``$RISKCTL_HOME/supervisor``, driven over XML-RPC (unix socket).

Exceptions: :class:`SupervisorError` (cannot start or talk to supervisord).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shlex
import socket
import sys
import tempfile
import time

# Talks only to our own supervisord over a 0700 unix socket.
import xmlrpc.client  # nosec B411
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from riskctl._proc import run, which
from riskctl.errors import RiskctlError

__all__ = ["Supervisor", "SupervisorError"]


class SupervisorError(RiskctlError):
    """supervisord could not be started or reached."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(30)
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        # Cache it like the base class does, so Transport.close() closes the socket.
        if self._connection[1] is not None and self._connection[0] == host:
            return self._connection[1]
        connection = _UnixConnection(self._path)
        self._connection = (host, connection)
        return connection


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


class Supervisor:
    """Start-on-demand supervisord plus the few RPC calls the local target needs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf_d = root / "conf.d"
        self.config = root / "supervisord.conf"
        sock = root / "supervisor.sock"
        if len(str(sock)) > 100:  # AF_UNIX path limit
            tag = hashlib.sha256(str(root).encode()).hexdigest()[:12]
            sock = Path(tempfile.gettempdir()) / f"riskctl-{tag}.sock"
        self.socket = sock

    def _proxy(self) -> Any:
        return xmlrpc.client.ServerProxy(
            "http://localhost/RPC2", transport=_UnixTransport(str(self.socket))
        )

    def running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            with self._proxy() as proxy:
                state = proxy.supervisor.getState()
        except (OSError, xmlrpc.client.Error):
            return False
        return bool(state.get("statename") == "RUNNING")

    def ensure_running(self) -> bool:
        """Start supervisord if it is not running; return whether it was started now."""
        if self.running():
            return False
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        self.conf_d.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "\n".join(
                [
                    "[unix_http_server]",
                    f"file={self.socket}",
                    "chmod=0700",
                    "[supervisord]",
                    f"logfile={self.root / 'supervisord.log'}",
                    f"pidfile={self.root / 'supervisord.pid'}",
                    f"childlogdir={self.root / 'logs'}",
                    "[rpcinterface:supervisor]",
                    "supervisor.rpcinterface_factory = "
                    "supervisor.rpcinterface:make_main_rpcinterface",
                    "[supervisorctl]",
                    f"serverurl=unix://{self.socket}",
                    "[include]",
                    f"files = {self.conf_d}/*.conf",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        program = which("supervisord", [Path(sys.executable).parent])
        proc = run([program, "-c", str(self.config)], env=env, check=False, timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.running():
                return True
            time.sleep(0.1)
        detail = (proc.stderr or proc.stdout).decode(errors="replace").strip()
        raise SupervisorError(f"supervisord did not start: {detail or 'no output'}")

    def programs(self) -> list[dict[str, Any]]:
        if not self.running():
            return []
        with self._proxy() as proxy:
            return cast(list[dict[str, Any]], proxy.supervisor.getAllProcessInfo())

    def add(
        self, name: str, command: Sequence[str], env: Mapping[str, str], directory: Path
    ) -> None:
        """Write ``conf.d/name.conf`` and start it as a new process group."""
        environment = ",".join(f"{k}={_quote(v)}" for k, v in sorted(env.items()))
        (self.conf_d / f"{name}.conf").write_text(
            "\n".join(
                [
                    f"[program:{name}]",
                    "command=" + shlex.join(command),
                    f"directory={directory}",
                    f"environment={environment}",
                    "autostart=true",
                    "autorestart=unexpected",
                    "startsecs=1",
                    "stopasgroup=true",
                    "killasgroup=true",
                    "stopwaitsecs=10",
                    "redirect_stderr=true",
                    f"stdout_logfile={self.root / 'logs' / (name + '.log')}",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        with self._proxy() as proxy:
            proxy.supervisor.reloadConfig()
            try:
                proxy.supervisor.addProcessGroup(name)
            except xmlrpc.client.Fault as fault:
                if "ALREADY_ADDED" not in fault.faultString:
                    raise SupervisorError(f"cannot start {name}: {fault.faultString}") from None
                proxy.supervisor.startProcessGroup(name)

    def remove(self, name: str) -> None:
        """Stop and forget a process group (harmless when it is not there)."""
        with self._proxy() as proxy:
            for call in (proxy.supervisor.stopProcessGroup, proxy.supervisor.removeProcessGroup):
                with contextlib.suppress(xmlrpc.client.Fault):
                    call(name)
        (self.conf_d / f"{name}.conf").unlink(missing_ok=True)

    def state(self, name: str) -> str:
        try:
            with self._proxy() as proxy:
                info = proxy.supervisor.getProcessInfo(f"{name}:{name}")
        except (OSError, xmlrpc.client.Error):
            return "ABSENT"
        return str(info.get("statename", "UNKNOWN"))

    def shutdown(self) -> None:
        """Stop supervisord and everything it runs."""
        if not self.running():
            return
        try:
            with self._proxy() as proxy:
                proxy.supervisor.shutdown()
        except (OSError, xmlrpc.client.Error):
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.running():
            time.sleep(0.1)
