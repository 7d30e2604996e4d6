"""Shared fixtures: a fixture git project, a home with one built and gated release, a CLI runner."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskctl.cli import app
from riskctl.clock import FixedCalendar, FixedClock
from riskctl.config import LoadedConfig
from riskctl.model import Strategy
from riskctl.service import Session, open_session
from riskctl.targets.interface import InstanceStatus, TargetOutcome, TargetRequest
from tests.riskctl.fixture_project import keyring, make_project

# A Monday in winter (EST), 10:00 New York: inside the prod window, outside the freeze.
OPEN_NOW = "2026-03-02T15:00:00Z"

#: The caller's riskctl settings must never leak into a test (e.g. when the suite runs as a gate
#: of a release that `riskctl demo` is building, with the demo's RISKCTL_CONFIG set).
_CALLER_SETTINGS = (
    "RISKCTL_CONFIG",
    "RISKCTL_HOME",
    "RISKCTL_ACTOR",
    "RISKCTL_DATABASE_URL",
    "RISKCTL_NOW",
    "GITHUB_ACTOR",
    "RISKCTL_KEYRING",
    "RISKCTL_SIGNING_KEY",
)


@pytest.fixture(autouse=True)
def _isolated_from_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without the caller's RISKCTL_* / GITHUB_ACTOR settings."""
    for key in _CALLER_SETTINGS:
        monkeypatch.delenv(key, raising=False)


@dataclass
class Result:
    """What one CLI invocation produced."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Cli:
    """Runs riskctl in-process against one repository and one RISKCTL_HOME."""

    def __init__(self, repo: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.repo, self.home = repo, home
        self.monkeypatch = monkeypatch
        # The test people's private keys: what proves each `--as NAME` (SPEC §6a).
        self.env = {
            "RISKCTL_HOME": str(home),
            "RISKCTL_NOW": OPEN_NOW,
            "RISKCTL_KEYRING": str(keyring()),
        }

    def __call__(self, *args: str, now: str | None = None, **env: str) -> Result:
        self.monkeypatch.chdir(self.repo)
        run_env = {**self.env, **env}
        if now is not None:
            run_env["RISKCTL_NOW"] = now
        for key in ("RISKCTL_ACTOR", "GITHUB_ACTOR", "RISKCTL_CONFIG", "RISKCTL_DATABASE_URL"):
            if key not in run_env:
                self.monkeypatch.delenv(key, raising=False)
        result = CliRunner().invoke(app, list(args), env=run_env, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    def audit_actions(self) -> list[str]:
        self.monkeypatch.setenv("RISKCTL_HOME", self.env["RISKCTL_HOME"])
        self.monkeypatch.delenv("RISKCTL_NOW", raising=False)
        session = open_session(config_path=None, actor=None, cwd=self.repo)
        try:
            return [b["action"] for b in session.audit.bodies()]
        finally:
            session.close()


class FakeTarget:
    """Implements the DeployTarget interface in memory (for pure policy/flow tests)."""

    strategies = frozenset({Strategy.RECREATE})

    def __init__(self, ok: bool = True) -> None:
        self.ok = ok
        self.deployed: list[TargetRequest] = []

    def deploy(self, request: TargetRequest) -> TargetOutcome:
        self.deployed.append(request)
        if self.ok:
            return TargetOutcome(True, "ok", ("started",))
        return TargetOutcome(False, "unhealthy", ("started", "restored"), rolled_back=True)

    def status(self, env: str, port: int) -> InstanceStatus:
        last = next((r for r in reversed(self.deployed) if r.env == env), None)
        return InstanceStatus(env, last.release.id if last else None, "running", last is not None)


def session_for(
    repo: Path,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    actor: str | None,
    *,
    now: datetime | None = None,
    target: FakeTarget | None = None,
) -> Session:
    """A core session with a fixed clock, a fixed calendar and a fake target."""
    monkeypatch.setenv("RISKCTL_HOME", str(home))
    monkeypatch.setenv("RISKCTL_KEYRING", str(keyring()))
    monkeypatch.delenv("RISKCTL_NOW", raising=False)
    monkeypatch.delenv("RISKCTL_DATABASE_URL", raising=False)
    fake = target or FakeTarget()

    def factory(_home: Path, _loaded: LoadedConfig) -> FakeTarget:
        return fake

    return open_session(
        config_path=None,
        actor=actor,
        cwd=repo,
        clock=FixedClock(now or datetime(2026, 3, 2, 15, 0, tzinfo=UTC)),
        calendar=FixedCalendar(),
        target_factory=factory,
    )


def take_to_prod(
    built: Built,
    monkeypatch: pytest.MonkeyPatch,
    target: FakeTarget,
    *,
    now: datetime | None = None,
) -> None:
    """The allowed path to prod, each step in its actor's own session (at ``now``, default the
    sessions' fixed clock): deploy to dev, review, staging and QA sign-off, release approval,
    the prod deploy with a rollback plan."""
    release = built.release
    steps: list[tuple[str, Callable[[Session], object]]] = [
        ("eng-1", lambda s: s.deploy(release, "dev")),
        ("eng-2", lambda s: s.review(release)),
        ("qa-1", lambda s: s.deploy(release, "staging")),
        ("qa-1", lambda s: s.approve(release, "staging")),
        ("risk-1", lambda s: s.approve(release, "prod")),
        ("sre-1", lambda s: s.deploy(release, "prod", rollback_plan="stop the service")),
    ]
    for actor, step in steps:
        session = session_for(built.repo, built.home, monkeypatch, actor, now=now, target=target)
        try:
            step(session)
        finally:
            session.close()


@dataclass(frozen=True)
class Built:
    """A repository and a RISKCTL_HOME holding one release whose gates passed."""

    repo: Path
    home: Path
    release: str
    digest: str


@pytest.fixture(scope="session")
def ports() -> dict[str, int]:
    """Free local ports: each environment's front door and its two instance slots."""
    names = [f"{e}{s}" for e in ("dev", "staging", "prod") for s in ("", "-blue", "-green")]
    return distinct_ports(names)


def distinct_ports(names: list[str]) -> dict[str, int]:
    """One free port per name, all different (held open together while they are picked)."""
    socks = []
    try:
        for _ in names:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return {n: int(s.getsockname()[1]) for n, s in zip(names, socks, strict=True)}
    finally:
        for sock in socks:
            sock.close()


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, ports: dict[str, int]) -> Built:
    """Build and gate the fixture project once per test session."""
    repo = make_project(tmp_path_factory.mktemp("template") / "repo", ports)
    home = repo.parent / "home"
    mp = pytest.MonkeyPatch()
    try:
        cli = Cli(repo, home, mp)
        # The fixture policy is the policy in force: pinned by its admin (SPEC §6a).
        pinned = cli("policy", "pin", "--as", "admin")
        assert pinned.code == 0, pinned.stderr
        built = cli("build", "--json")
        assert built.code == 0, built.stderr
        out = built.json()
        gated = cli("gates", out["release"], "--skip", "performance", "--json")
        assert gated.code == 0, gated.stdout + gated.stderr
    finally:
        mp.undo()
    return Built(repo, home, out["release"], out["digest"])


@pytest.fixture
def built(template: Built, tmp_path: Path) -> Built:
    """A private copy of the template repository and home for one test."""
    repo = tmp_path / "repo"
    home = tmp_path / "home"
    shutil.copytree(template.repo, repo, symlinks=True)
    shutil.copytree(template.home, home, symlinks=True)
    return Built(repo, home, template.release, template.digest)


@pytest.fixture
def cli(built: Built, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A CLI bound to the private copy."""
    return Cli(built.repo, built.home, monkeypatch)
