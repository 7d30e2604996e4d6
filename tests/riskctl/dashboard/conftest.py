"""Fixtures: a RISKCTL_HOME with a realistic trail (v1 through dev, staging and prod, a failed and
a good risk run, an automatic incident resolved and a manual one open), and the dashboard served
on a free loopback port."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from riskctl.clock import FixedCalendar, FixedClock
from riskctl.config import LoadedConfig
from riskctl.dashboard.app import create_app
from riskctl.dashboard.command import Dashboard
from riskctl.service import Session, open_session
from tests.riskctl.conftest import Built, Cli, FakeTarget, session_for, take_to_prod

DAY1 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday, 10:00 New York: prod window open
DAY2 = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
DAY3 = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)  # the dashboard's clock
NOW_TEXT = "2026-03-05T15:00:00Z"

#: A summary a person might type; the page must show it as text.
HOSTILE = "<img src=x onerror=alert(1)> VaR report late"


@dataclass(frozen=True)
class Scenario:
    """The trail's contents, as the tests expect to see them."""

    repo: Path
    home: Path
    release: str
    digest: str
    target: FakeTarget
    hostile_incident: str
    automatic_incident: str


@dataclass
class _Player:
    """Runs core use cases as one identity at one instant, each in its own session."""

    built: Built
    mp: pytest.MonkeyPatch
    target: FakeTarget

    def __call__(self, actor: str, now: datetime, action: Callable[[Session], Any]) -> Any:
        session = session_for(
            self.built.repo, self.built.home, self.mp, actor, target=self.target, now=now
        )
        try:
            return action(session)
        finally:
            session.close()


def _risk_run(session: Session, digest: str, release: str, date: str, ok: bool) -> None:
    """What ``riskctl risk-run`` records for one attempt (riskctl.envops.risk_run)."""
    session.record(
        "risk-run",
        release=digest,
        env="prod",
        details={"release": release, "date": date, "succeeded": ok, "exit_code": 0 if ok else 1,
                 "seconds": 42.0, "output": "ok" if ok else "ValueError: NaN in portfolio P7"},
    )  # fmt: skip
    if not ok:
        session.record(
            "risk-run-failed",
            release=digest,
            env="prod",
            details={"release": release, "date": date, "producer": None,
                     "summary": f"{release} failed the {date} run; no release produced it"},
        )  # fmt: skip


def _play(built: Built, cli: Cli, mp: pytest.MonkeyPatch) -> Scenario:
    """v1 reaches prod on day 1 (review, QA sign-off, release approval by different people); the
    day-2 risk run fails (an automatic incident); v1 is redeployed on day 3 and that day's run
    succeeds (restored), and the incident is resolved; a person opens an incident whose summary
    is markup."""
    target = FakeTarget()
    play = _Player(built, mp, target)
    rel = built.release
    take_to_prod(built, mp, target, now=DAY1)
    play("sre-1", DAY2, lambda s: _risk_run(s, built.digest, rel, "2026-03-03", ok=False))
    play("sre-1", DAY3, lambda s: s.deploy(rel, "prod", rollback_plan="stop the service"))
    play("sre-1", DAY3, lambda s: _risk_run(s, built.digest, rel, "2026-03-04", ok=True))
    opened = cli("incident", "open", "--env", "prod", "--summary", HOSTILE, "--as", "sre-1",
                 "--json", now="2026-03-04T16:00:00Z")  # fmt: skip
    assert opened.code == 0, opened.stderr
    incidents = play("sre-1", NOW, lambda s: s.incidents())
    automatic = next(i["id"] for i in incidents if i["automatic"])
    resolved = cli("incident", "resolve", automatic, "--root-cause", "NaN in P7's market data",
                   "--regression-test", "tests/service/test_daily_run.py::test_nan_is_rejected",
                   "--as", "sre-1", now="2026-03-04T17:00:00Z")  # fmt: skip
    assert resolved.code == 0, resolved.stderr
    return Scenario(built.repo, built.home, rel, built.digest, target, opened.json()["id"],
                    automatic)  # fmt: skip


@pytest.fixture(scope="session")
def played(template: Built, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """The scenario, played once per test session on its own copy of the built template."""
    root = tmp_path_factory.mktemp("dashboard")
    built = Built(root / "repo", root / "home", template.release, template.digest)
    shutil.copytree(template.repo, built.repo, symlinks=True)
    shutil.copytree(template.home, built.home, symlinks=True)
    mp = pytest.MonkeyPatch()
    try:
        return _play(built, Cli(built.repo, built.home, mp), mp)
    finally:
        mp.undo()


@pytest.fixture
def scenario(played: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    """A private copy of the played scenario (tests may tamper with it); RISKCTL_HOME points
    at it."""
    repo, home = tmp_path / "repo", tmp_path / "home"
    shutil.copytree(played.repo, repo, symlinks=True)
    shutil.copytree(played.home, home, symlinks=True)
    monkeypatch.setenv("RISKCTL_HOME", str(home))
    monkeypatch.delenv("RISKCTL_NOW", raising=False)
    return replace(played, repo=repo, home=home)


def opener_for(scn: Scenario, now: datetime = NOW) -> Callable[[], Session]:
    """Sessions on the scenario's home at a fixed instant, whose target knows the fake deploys."""

    def factory(_home: Path, _loaded: LoadedConfig) -> FakeTarget:
        return scn.target

    def opener() -> Session:
        return open_session(
            config_path=None,
            actor=None,
            cwd=scn.repo,
            clock=FixedClock(now),
            calendar=FixedCalendar(),
            target_factory=factory,
        )

    return opener


def dashboard_for(app: FastAPI) -> Dashboard:
    """The app on a free loopback port, as riskctl.dashboard.command serves it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    port = sock.getsockname()[1]
    return Dashboard(uvicorn.Server(config), sock, f"http://127.0.0.1:{port}/")


@contextmanager
def serving(dashboard: Dashboard, timeout: float = 10.0) -> Iterator[str]:
    """Run ``dashboard`` in a thread until the block ends; yields its base URL (no slash)."""
    thread = threading.Thread(target=dashboard.run, name="dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not dashboard.server.started:
        assert thread.is_alive(), "the dashboard server stopped while starting"
        assert time.monotonic() < deadline, "the dashboard server did not start"
        time.sleep(0.01)
    try:
        yield dashboard.url.rstrip("/")
    finally:
        dashboard.server.should_exit = True
        thread.join(timeout)
        assert not thread.is_alive(), "the dashboard server did not stop"


class _Current:
    """The scenario the shared server reads (each test points it at its own copy)."""

    scenario: Scenario | None = None

    def opener(self) -> Session:
        assert self.scenario is not None, "no scenario selected"
        return opener_for(self.scenario)()


@pytest.fixture(scope="session")
def _server() -> Iterator[tuple[str, _Current]]:
    """One uvicorn server for the API tests (starting one per test costs more than the tests)."""
    current = _Current()
    with serving(dashboard_for(create_app(current.opener))) as url:
        yield url, current


@pytest.fixture
def served(_server: tuple[str, _Current], scenario: Scenario) -> Iterator[str]:
    """The dashboard app over this test's scenario, served by uvicorn on 127.0.0.1."""
    url, current = _server
    current.scenario = scenario
    try:
        yield url
    finally:
        current.scenario = None
