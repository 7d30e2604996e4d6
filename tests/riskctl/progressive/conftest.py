"""Releases of the fixture service with known defects, and a compressed-timing policy file.

Built once per session: ``v1`` (good), ``v2`` (harmless docs change), ``x15`` (VaR × 1.5),
``x15-declared`` (the same, declaring an expected model change), ``errors`` (every 4th POST
is a 500), ``slow`` (+30 ms on every request), ``crash`` (exits on start), ``irreversible``
(declares an irreversible migration). Each test gets a private copy
and shuts its HAProxy and supervisord down.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from riskctl.config import load_config
from riskctl.rollout.controller import RolloutTarget
from riskctl.shadow.golden import generate_golden_set
from tests.riskctl.conftest import Built, Cli, distinct_ports
from tests.riskctl.fixture_project import commit_all, with_keys

BASE_BEHAVIOUR = """\
\"\"\"Knobs the tests turn to make faulty releases (one commit and release each).\"\"\"

VAR_FACTOR = 1.0
ERROR_EVERY = 0
ERROR_AFTER = 0
DELAY_S = 0.002
CRASH_ON_START = False
DAILY_RUN_FAILS = False
"""

VARIANTS: dict[str, dict[str, Any]] = {
    "v2": {"DAILY_RUN_FAILS": "False  # v2: a harmless change"},
    "x15": {"VAR_FACTOR": "1.5"},
    "x15-declared": {
        "VAR_FACTOR": "1.5",
        "delivery/release.toml": '[model_change]\nreason = "new window"\nexpected_impact = 0.6\n',
    },
    "errors": {"ERROR_EVERY": "4", "ERROR_AFTER": "40"},  # only under real traffic
    "slow": {"DELAY_S": "0.030"},
    "crash": {"CRASH_ON_START": "True"},
    "runfails": {"DAILY_RUN_FAILS": "True"},  # its daily risk run fails
    "irreversible": {
        "docs/index.md": "# Fixture service\n\nDrops a table.\n",
        "delivery/release.toml": '[migrations]\nirreversible = true\nreason = "drops table t"\n',
    },
}


def progressive_policy(ports: dict[str, int], *, manual_pause: bool = False) -> str:
    """Dev recreate, staging blue-green, prod canary — no gates, compressed analysis."""
    pause = "manual_pause_after = [10]" if manual_pause else ""
    env = ""
    for name, strategy, deployers in (
        ("dev", "recreate", '["engineer"]'),
        ("staging", "bluegreen", '["engineer", "qa"]'),
        ("prod", "canary", '["sre"]'),
    ):
        shadow = "enabled = true" if name != "dev" else "enabled = false"
        env += f"""
        [environments.{name}]
        url = "http://127.0.0.1:{ports[name]}"
        port = {ports[name + "-blue"]}
        slot_ports = [{ports[name + "-blue"]}, {ports[name + "-green"]}]
        deployers = {deployers}
        strategy = "{strategy}"
        canary_steps = [10, 50, 100]
        keep_previous_s = {30 if name == "staging" else 0}
        bearer_token = {"true" if name != "dev" else "false"}
        [environments.{name}.shadow]
        {shadow}
        golden_set = "golden-set.json"
        rel_tolerance = 1e-6
        [environments.{name}.analysis]
        seconds = 2.0
        interval_s = 0.25
        min_samples = 30
        # The compressed 2 s windows reach ~15-30 canary requests at 10 %: size the judge's
        # sample for defects that large (the story's v4 fails a quarter of its requests).
        detect_error_increase = 0.25
        detect_latency_ratio = 3.0  # the slow variant is ~15x slower (30 ms vs 2 ms)
        max_load_rate = 200
        probe_rate = 40
        {pause if name == "prod" else ""}
        """
    return with_keys(textwrap.dedent(
        """\
        clock_override = true
        [identities.eng-1]
        roles = ["engineer"]
        emails = ["eng-1@example.com"]
        [identities.qa-1]
        roles = ["qa"]
        [identities.risk-1]
        roles = ["risk", "release-manager"]
        [identities.sre-1]
        roles = ["sre"]
        [target]
        start_timeout_s = 20
        check_interval_ms = 200
        [notifications]
        channels = [{ kind = "webhook", url_env = "RISKCTL_TEST_WEBHOOK_URL" }]
        attempts = 2
        """
    ) + textwrap.dedent(env))  # fmt: skip


@dataclass(frozen=True)
class Fleet:
    """A private repo + home with every variant built, and the policy files to use."""

    repo: Path
    home: Path
    policy: Path
    paused_policy: Path
    releases: dict[str, str]
    digests: dict[str, str]
    ports: dict[str, int]


def build_fleet(template: Built, base: Path, variants: Sequence[str]) -> Fleet:
    """``variants`` (names in :data:`VARIANTS`) built on top of the template's gated v1 in a
    private repo + home under ``base``, with the progressive policy (and its copy that pauses
    prod at 10 %) and a small golden set."""
    repo, home = base / "repo", base / "home"
    shutil.copytree(template.repo, repo, symlinks=True)
    shutil.copytree(template.home, home, symlinks=True)
    names = [f"{e}{s}" for e in ("dev", "staging", "prod") for s in ("", "-blue", "-green")]
    ports = distinct_ports(names)
    policy = base / "progressive.toml"
    policy.write_text(progressive_policy(ports), encoding="utf-8")
    paused = base / "progressive-paused.toml"
    paused.write_text(progressive_policy(ports, manual_pause=True), encoding="utf-8")
    golden = generate_golden_set(n_symbols=6, n_days=120, n_portfolios=3)
    (base / "golden-set.json").write_text(json.dumps(golden), encoding="utf-8")
    mp = pytest.MonkeyPatch()
    releases = {"v1": template.release}
    digests = {"v1": template.digest}
    try:
        cli = Cli(repo, home, mp)
        # The progressive policy is the one in force here, pinned by the admin of the template's.
        pinned = cli("policy", "pin", "--as", "admin", "--config", str(policy))
        assert pinned.code == 0, pinned.stderr
        behaviour = repo / "src" / "fixture_svc" / "behaviour.py"
        for name in variants:
            changes = VARIANTS[name]
            text = BASE_BEHAVIOUR
            for key, value in changes.items():
                if "/" in key:
                    (repo / key).parent.mkdir(parents=True, exist_ok=True)
                    (repo / key).write_text(value, encoding="utf-8")
                else:
                    text = (
                        "\n".join(
                            f"{key} = {value}" if line.startswith(f"{key} =") else line
                            for line in text.splitlines()
                        )
                        + "\n"
                    )
            behaviour.write_text(text, encoding="utf-8")
            commit_all(repo, f"variant {name}")
            out = cli("build", "--json")
            assert out.code == 0, out.stderr
            releases[name] = out.json()["release"]
            digests[name] = out.json()["digest"]
            for key in changes:
                if "/" in key and key.startswith("delivery/"):
                    (repo / key).unlink()
            (repo / "docs" / "index.md").write_text("# Fixture service\n", encoding="utf-8")
    finally:
        mp.undo()
    return Fleet(repo, home, policy, paused, releases, digests, ports)


@pytest.fixture(scope="session")
def fleet_template(template: Built, tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """Build every variant once (policy checks are the core's tests, not these)."""
    return build_fleet(template, tmp_path_factory.mktemp("fleet"), list(VARIANTS))


@dataclass
class Env:
    """One test's copy: a CLI bound to the progressive policy, and helpers."""

    fleet: Fleet
    cli: Cli

    def __call__(self, *args: str, **env: str) -> Any:
        return self.cli(*args, **env)

    def state(self, env: str) -> dict[str, Any]:
        path = self.cli.home / "envs" / env / "state.json"
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def target(self) -> RolloutTarget:
        config = load_config(self.fleet.policy).config
        return RolloutTarget(self.cli.home, config)

    def url(self, env: str) -> str:
        return f"http://127.0.0.1:{self.fleet.ports[env]}"

    def spawn(self, *args: str, policy: Path | None = None) -> subprocess.Popen[bytes]:
        """riskctl in its own process (so it can be killed)."""
        env = {
            **os.environ,
            **self.cli.env,
            "RISKCTL_CONFIG": str(policy or self.cli.env["RISKCTL_CONFIG"]),
        }
        return subprocess.Popen(
            [sys.executable, "-m", "riskctl", *args],
            cwd=self.cli.repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


def private_fleet(template: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    """A copy of a built fleet for one test, its CLI bound to the progressive policy."""
    base = tmp_path / "f"
    shutil.copytree(template.repo.parent, base, symlinks=True)
    policy = base / "progressive.toml"
    copy = Fleet(
        base / "repo", base / "home", policy, base / "progressive-paused.toml",
        template.releases, template.digests, template.ports,
    )  # fmt: skip
    cli = Cli(copy.repo, copy.home, monkeypatch)
    cli.env["RISKCTL_CONFIG"] = str(policy)
    return Env(copy, cli)


@pytest.fixture
def fleet(fleet_template: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """A private copy of the built variants; HAProxy and supervisord stopped afterwards."""
    env = private_fleet(fleet_template, tmp_path, monkeypatch)
    yield env
    env.target().fleet.shutdown()


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a riskctl process (and only it) and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def wait_for(predicate: Any, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll ``predicate`` every 20 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
