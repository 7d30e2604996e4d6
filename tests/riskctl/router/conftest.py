"""Real HAProxy and tiny backends for the router and load tests."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from riskctl.router.haproxy import FrontDoor, HAProxyProcess, render_config


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler(BaseHTTPRequestHandler):
    """Answers GET with its name; POST fails every ``fail_every``-th time, after ``delay`` s."""

    def do_GET(self) -> None:
        self._answer(200)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        server = self.server
        with server.lock:  # type: ignore[attr-defined]
            server.count += 1  # type: ignore[attr-defined]
            n = server.count  # type: ignore[attr-defined]
        time.sleep(server.delay)  # type: ignore[attr-defined]
        every = server.fail_every  # type: ignore[attr-defined]
        self._answer(500 if every and n % every == 0 else 200)

    def _answer(self, status: int) -> None:
        body = self.server.name.encode()  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr log."""


@pytest.fixture
def backend_servers() -> Iterator[dict[str, ThreadingHTTPServer]]:
    """Two tiny HTTP servers standing in for two service instances."""
    servers = {}
    for name in ("one", "two"):
        srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        srv.name = name  # type: ignore[attr-defined]
        srv.lock = threading.Lock()  # type: ignore[attr-defined]
        srv.count = 0  # type: ignore[attr-defined]
        srv.delay = 0.0  # type: ignore[attr-defined]
        srv.fail_every = 0  # type: ignore[attr-defined]
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers[name] = srv
    yield servers
    for srv in servers.values():
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[tuple[HAProxyProcess, FrontDoor]]:
    """A real HAProxy master-worker with one environment's front door."""
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.fail("haproxy is not installed; 'make setup' installs it")
    door = FrontDoor("test", free_port())
    runtime = tmp_path / "haproxy"
    process = HAProxyProcess(runtime)
    process.write_config(render_config([door], runtime, check_interval_ms=200))
    process.start()
    yield process, door
    process.stop()


@pytest.fixture
def backends(backend_servers: dict[str, ThreadingHTTPServer]) -> dict[str, int]:
    """Ports of the two backends."""
    return {name: int(srv.server_address[1]) for name, srv in backend_servers.items()}
