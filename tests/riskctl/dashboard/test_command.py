"""`run_dashboard` / `prepare_dashboard`: loopback by default, clean errors, the URL printed."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from riskctl.dashboard import command
from riskctl.dashboard.command import is_loopback, prepare_dashboard, run_dashboard
from riskctl.errors import UsageError
from tests.riskctl.dashboard.conftest import Scenario, serving


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),  # noqa: S104 - the address being refused
        ("::", False),
        ("192.168.1.20", False),
        ("dashboard.example", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    """Only localhost and loopback addresses count as local."""
    assert is_loopback(host) is loopback


def test_non_loopback_host_is_refused_without_allow_remote(scenario: Scenario) -> None:
    """Binding every interface needs the explicit allow_remote; the message says why."""
    with pytest.raises(UsageError, match="allow_remote") as info:
        prepare_dashboard("0.0.0.0", 0, None, cwd=scenario.repo)  # noqa: S104
    assert "no login" in str(info.value)


def test_busy_port_and_bad_policy_are_usage_errors(scenario: Scenario, tmp_path: Path) -> None:
    """A port in use and an unreadable policy file fail at start with riskctl's message."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            prepare_dashboard("127.0.0.1", port, None, cwd=scenario.repo)
    with pytest.raises(UsageError):
        prepare_dashboard("127.0.0.1", 0, str(tmp_path / "missing.toml"), cwd=scenario.repo)


@pytest.mark.integration
def test_host_header_is_checked_unless_remote_is_allowed(scenario: Scenario) -> None:
    """The default server refuses a foreign Host header; allow_remote serves any name."""
    with serving(prepare_dashboard("127.0.0.1", 0, None, cwd=scenario.repo)) as url:
        refused = httpx.get(url + "/api/config", headers={"Host": "dashboard.example"})
        assert refused.status_code == 400
    remote = prepare_dashboard("127.0.0.1", 0, None, allow_remote=True, cwd=scenario.repo)
    with serving(remote) as url:
        allowed = httpx.get(url + "/api/config", headers={"Host": "dashboard.example"})
        assert allowed.status_code == 200
        assert allowed.json()["environments"] == ["dev", "staging", "prod"]


def test_run_dashboard_prints_its_url(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The URL (with the bound port) is printed before serving starts."""
    served: list[str] = []

    def fake_run(self: command.Dashboard) -> None:
        served.append(self.url)
        self.sock.close()

    monkeypatch.chdir(scenario.repo)
    monkeypatch.setattr(command.Dashboard, "run", fake_run)
    run_dashboard("127.0.0.1", 0, None)
    out = capsys.readouterr().out
    assert served
    assert served[0].startswith("http://127.0.0.1:")
    assert f"riskctl dashboard: {served[0]} (read-only" in out
