"""``riskctl dashboard``: serve the dashboard with uvicorn on a loopback address.

The dashboard has no login and no TLS. It is read-only, but what it shows is sensitive: the
audit trail (who approved and deployed what, free-text incident summaries and rollback reasons),
release digests, environment URLs and risk-run outcomes. It therefore binds 127.0.0.1 by default,
answers only requests whose Host header names a loopback address (against DNS rebinding), and
refuses any other bind address unless the caller passes ``allow_remote=True`` — which exposes all
of that to everyone who can reach the port, unencrypted. To share it, prefer an SSH tunnel
(``ssh -L 8400:127.0.0.1:8400 HOST``) or a reverse proxy that adds TLS and authentication.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from riskctl.dashboard.app import LOOPBACK_HOSTS, create_app
from riskctl.dashboard.readonly import read_only_target
from riskctl.errors import UsageError
from riskctl.service import Session, open_session

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Dashboard",
    "is_loopback",
    "prepare_dashboard",
    "run_dashboard",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8400


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Dashboard:
    """A server ready to run on an already bound socket, and the URL it answers on."""

    server: uvicorn.Server
    sock: socket.socket
    url: str

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C / SIGTERM) or ``server.should_exit`` is set."""
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.sock.close()


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"cannot resolve --host {host!r}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def prepare_dashboard(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    config: str | None = None,
    *,
    allow_remote: bool = False,
    cwd: Path | None = None,
) -> Dashboard:
    """Check the address and riskctl's state, bind the port (0: any free one), build the app.

    Raises :class:`UsageError` for a non-loopback ``host`` without ``allow_remote``, a port that
    cannot be bound, or a policy file / home that cannot be opened.
    """
    if not allow_remote and not is_loopback(host):
        raise UsageError(
            f"refusing to serve the dashboard on {host}: it has no login and shows the audit "
            "trail; bind a loopback address (default 127.0.0.1) and use an SSH tunnel, or pass "
            "allow_remote explicitly"
        )
    where = cwd or Path.cwd()

    def opener() -> Session:
        return open_session(
            config_path=config, actor=None, cwd=where, target_factory=read_only_target
        )

    opener().close()  # fail now, with riskctl's message, rather than on every request
    app = create_app(opener, allowed_hosts=None if allow_remote else LOOPBACK_HOSTS)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    return Dashboard(server, sock, f"http://{shown}:{bound}/")


def run_dashboard(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    config: str | None = None,
    *,
    allow_remote: bool = False,
) -> None:
    """Serve the dashboard until interrupted, after printing its URL.

    ``allow_remote=True`` permits a non-loopback ``host`` and any Host header: everyone who can
    reach the port then reads the audit trail, unauthenticated and unencrypted (see the module
    docstring).
    """
    dashboard = prepare_dashboard(host, port, config, allow_remote=allow_remote)
    print(f"riskctl dashboard: {dashboard.url} (read-only; Ctrl-C stops it)", flush=True)
    if allow_remote and not is_loopback(host):
        print(
            "warning: the dashboard has no login and no TLS; anyone who reaches this port can "
            "read the audit trail",
            flush=True,
        )
    dashboard.run()
