"""`riskctl dashboard` as a user runs it: a real process serving the page on 127.0.0.1, and a
clear refusal for a non-loopback address."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.riskctl.conftest import Built, Cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_non_loopback_host_is_refused_without_allow_remote(built: Built, cli: Cli) -> None:
    """Binding 0.0.0.0 is refused (exit 2) with the reason; nothing is served."""
    out = cli("dashboard", "--host", "0.0.0.0")  # noqa: S104 - the refusal under test
    assert out.code == 2
    assert "--allow-remote" in out.stderr or "loopback" in out.stderr


def test_dashboard_process_serves_the_page_and_the_api(built: Built) -> None:
    """`riskctl dashboard --port P` prints its URL and serves the page and /api/status."""
    port = _free_port()
    env = {**os.environ, "RISKCTL_HOME": str(built.home)}
    env.pop("RISKCTL_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "riskctl", "dashboard", "--port", str(port)],
        cwd=built.repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        page = None
        while time.monotonic() < deadline:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert page is not None, "the dashboard never answered"
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]
        status = httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=10)
        assert status.status_code == 200
        assert set(status.json()["environments"]) >= {"dev", "staging", "prod"}
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}" in output
