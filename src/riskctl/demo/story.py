"""`riskctl demo`: v1 through dev → staging → prod, then v2 (harmless, canaried to 100 %), v3
(VaR × 1.5, stopped by the shadow comparison), v4 (a defect that only shows under sustained
traffic, aborted by canary analysis and rolled back, which opens an incident), then the audit
verification and the DORA metrics.

The demo drives the real thing: every step is a ``riskctl`` command a person could type, run in a
scratch clone of this repository with its own ``$RISKCTL_HOME`` and its own policy file (via
``RISKCTL_CONFIG``) whose prod window is open while it runs — it says so. Processes it starts
(HAProxy, supervisord and the service instances) belong to the demo's home and are stopped by
``riskctl demo --clean`` (``make demo-clean``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule

from riskctl.clock import ExchangeCalendar
from riskctl.config import load_config
from riskctl.demo.anchors import anchor_policy, stop_witness
from riskctl.demo.deliveries import write_delivery
from riskctl.demo.patches import DEFECT_PATCH, HARMLESS_PATCH, MODEL_CHANGE_PATCH, Patch
from riskctl.demo.policy import DEMO_GATES, PORT_SHIFT, demo_policy
from riskctl.errors import RiskctlError
from riskctl.targets.local import LocalTarget
from riskctl.trust.keys import generate_key, public_line

#: Where the demo keeps everything, relative to the repository root (git-ignored).
WORKSPACE = ".riskctl-demo"
AUTHOR = ("eng-1", "eng-1@example.com")
#: Who runs each environment's store commands and daily run (a deployer there).
OPERATOR = {"dev": "eng-1", "staging": "qa-1", "prod": "sre-1"}


class DemoError(RuntimeError):
    """A step did not end the way the story needs."""


@dataclass
class Demo:
    """State of one demo run."""

    #: Ports of the story's environments: delivery.toml's + this (another story, another shift).
    port_shift: ClassVar[int] = PORT_SHIFT

    root: Path
    console: Console = field(default_factory=Console)
    started: float = field(default_factory=time.monotonic)
    releases: dict[str, str] = field(default_factory=dict)

    @property
    def work(self) -> Path:
        """The demo's workspace."""
        return self.root / WORKSPACE

    @property
    def repo(self) -> Path:
        """The scratch clone the demo commits to."""
        return self.work / "repo"

    @property
    def home(self) -> Path:
        """The demo's $RISKCTL_HOME."""
        return self.work / "home"

    @property
    def keyring(self) -> Path:
        """The demo people's private keys (RISKCTL_KEYRING): what proves each ``--as``."""
        return self.work / "keyring"

    @property
    def policy(self) -> Path:
        """The demo's policy file."""
        return self.work / "delivery-demo.toml"

    def env(self) -> dict[str, str]:
        """Environment of every riskctl the demo runs."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RISKCTL_", "GITHUB_"))}
        env.update(
            RISKCTL_HOME=str(self.home),
            RISKCTL_CONFIG=str(self.policy),
            RISKCTL_KEYRING=str(self.keyring),
        )
        env["RISK_SERVICE_ANONYMIZE_KEY"] = self.anonymize_key()
        env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
        env["COLUMNS"] = "100"
        return env

    def anonymize_key(self) -> str:
        """Staging's pseudonymisation key: random per demo workspace, stable within it."""
        path = self.work / "anonymize.key"
        if not path.exists():
            path.write_text(secrets.token_hex(16), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()

    # --- narration ----------------------------------------------------------------------------

    def chapter(self, title: str, text: str) -> None:
        """A new part of the story."""
        elapsed = time.monotonic() - self.started
        self.console.print()
        self.console.print(Rule(f"[bold]{title}[/]  [dim]{elapsed:5.0f} s[/]"))
        self.console.print(text)

    def say(self, text: str) -> None:
        """A line of narration."""
        self.console.print(f"[cyan]»[/] {text}")

    # --- running ------------------------------------------------------------------------------

    def riskctl(self, *args: str, expect: int = 0, capture: bool = False) -> str:
        """Run ``riskctl ARGS`` in the scratch clone; fail the demo on an unexpected exit code."""
        self.console.print(f"[bold green]$[/] riskctl {' '.join(args)}")
        command = [sys.executable, "-m", "riskctl", *args]
        if capture:
            done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
                command, cwd=self.repo, env=self.env(), capture_output=True, text=True, check=False
            )
            code, output = done.returncode, done.stdout
            if code != expect:
                self.console.print(done.stdout + done.stderr)
        else:
            code = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
                command, cwd=self.repo, env=self.env(), check=False
            ).returncode
            output = ""
        if code != expect:
            raise DemoError(
                f"`riskctl {' '.join(args)}` exited {code}, the story expected {expect}"
            )
        if expect:
            self.say(f"exit code {code}, as the story expects")
        return output

    def riskctl_json(self, *args: str) -> Any:
        """Run with ``--json`` and parse the output."""
        return json.loads(self.riskctl(*args, "--json", capture=True))

    def git(self, *args: str) -> str:
        """Run git in the scratch clone as the demo's author."""
        name, email = AUTHOR
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        done = subprocess.run(  # noqa: S603
            [_git(), *args],
            cwd=self.repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise DemoError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def commit(self, patch: Patch) -> None:
        """Apply a patch and commit it as eng-1."""
        patch.apply(self.repo)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", patch.message)
        self.say(f"eng-1 commits: [italic]{patch.message}[/]")

    # --- the steps ------------------------------------------------------------------------------

    def prepare(self) -> dt.date:
        """Fresh workspace, scratch clone, demo policy; returns the business date to run."""
        clean(self.root, quiet=True)
        self.work.mkdir(parents=True)
        subprocess.run(  # noqa: S603
            [_git(), "clone", "-q", "--no-hardlinks", str(self.root), str(self.repo)],
            check=True,
        )
        keys = {
            name: public_line(generate_key(self.keyring / name).public, name)
            for name in load_config(self.root / "delivery.toml").config.identities
        }
        anchors = anchor_policy(self.work, self.home)  # audit key + witness, pinned
        self.policy.write_text(
            demo_policy(keys=keys, port_shift=self.port_shift) + anchors, encoding="utf-8"
        )
        self.say(
            f"each person gets an Ed25519 signing key in {WORKSPACE}/keyring; the demo policy "
            "lists their public keys and its admin pins it"
        )
        self.riskctl("policy", "pin", "--as", "admin")
        return _last_session(dt.datetime.now(dt.UTC).date())

    def release(self, label: str) -> str:
        """Build the current commit and run the demo's gates on it."""
        built = self.riskctl_json("build", "--as", "eng-1")
        release = str(built["release"])
        self.releases[label] = release
        digest, kind = str(built["digest"])[:19], built["change_class"]
        self.say(f"{label} is [bold]{release}[/] ({digest}…, {kind} change)")
        only = [arg for gate in DEMO_GATES for arg in ("--only", gate)]
        self.riskctl("gates", release, *only, "--as", "eng-1")
        self.riskctl("review", release, "--as", "qa-1")
        return release

    def through_staging(self, release: str, *, staging_expect: int = 0) -> None:
        """dev (recreate) then staging (blue-green, shadow comparison)."""
        self.riskctl("deploy", release, "--env", "dev", "--as", "eng-1")
        self.riskctl("deploy", release, "--env", "staging", "--as", "qa-1", expect=staging_expect)

    def to_prod(self, release: str, *, expect: int = 0, seed: dt.date | None = None) -> None:
        """QA sign-off, release approval, canary deploy by the SRE (after loading prod's data
        with the release, when ``seed`` is its business date)."""
        self.riskctl("approve", release, "--env", "staging", "--as", "qa-1")
        self.riskctl("approve", release, "--env", "prod", "--as", "risk-1")
        if seed is not None:
            self.seed(release, seed, "prod")
        self.riskctl(
            "deploy", release, "--env", "prod", "--as", "sre-1",
            "--rollback-plan", "riskctl rollback --env prod restores the previous release",
            expect=expect,
        )  # fmt: skip

    def seed(self, release: str, business_date: dt.date, *envs: str) -> None:
        """Each environment's own data, loaded by the release before its first deploy there, by
        one of the environment's deployers (exec runs only a release they could deploy)."""
        day = business_date.isoformat()
        delivery = write_delivery(self.work / "upstream", business_date)
        if "dev" in envs:
            self.say(
                f"upstream delivers prod files: {delivery.positions.name} ({delivery.portfolios} "
                f"desks, trader names included) and {delivery.market.name} ({delivery.sessions} "
                "sessions)"
            )
        anonymised = self.work / "upstream" / "positions-anonymised.csv"
        market = str(delivery.market)

        def service(env: str, *args: str) -> None:
            self.riskctl(
                "exec", "--env", env, "--release", release, "--as", OPERATOR[env], "--", *args
            )

        if "dev" in envs:
            service("dev", "db", "upgrade")
            service("dev", "data", "generate", "--date", day)
        if "staging" in envs:
            service("staging", "db", "upgrade")
            service("staging", "data", "anonymize", str(delivery.positions), str(anonymised))
            service("staging", "data", "load", "--positions", str(anonymised), "--market", market)
        if "prod" in envs:
            service("prod", "db", "upgrade")
            service(
                "prod", "data", "load", "--positions", str(delivery.positions), "--market", market
            )

    def risk_runs(
        self, business_date: dt.date, envs: Sequence[str] = ("dev", "staging", "prod")
    ) -> None:
        """The guarded daily run in each environment, on its own data."""
        for env in envs:
            self.riskctl(
                "risk-run", "--env", env, "--date", business_date.isoformat(),
                "--as", OPERATOR[env],
            )  # fmt: skip

    def run(self) -> None:
        """The whole story."""
        business_date = self.prepare()
        self.console.print(
            Panel(
                "risk-service delivery demo. Everything below is a real command against real "
                "HAProxy, supervisord and service instances on 127.0.0.1.\n"
                f"Policy: [bold]{self.policy.relative_to(self.root)}[/] (via RISKCTL_CONFIG) — "
                "delivery.toml's rules, except that the prod change window is open all day and "
                "the 04:00–07:00 New York risk-run freeze is lifted, so the demo runs at any "
                "hour, and timings are compressed. delivery.toml itself keeps both. The audit "
                "key and a witness (its own process and key, beside the demo home) are pinned "
                "in it; the witness cosigns every checkpoint.",
                title="riskctl demo",
            )
        )
        self.chapter("v1", "eng-1 writes v1; it goes through dev, staging and prod.")
        self.commit(HARMLESS_PATCH.named("v1: first release through the pipeline", "v1"))
        v1 = self.release("v1")
        self.say(
            "each environment gets its own data: dev synthetic, prod the upstream files, "
            "staging an anonymised copy of them"
        )
        self.seed(v1, business_date, "dev", "staging")
        self.through_staging(v1)
        self.say("eng-1 tries to approve their own release for prod:")
        self.riskctl("approve", v1, "--env", "prod", "--as", "eng-1", expect=3)
        self.to_prod(v1, seed=business_date)
        self.chapter("daily risk runs", "Each environment runs the day on its own data.")
        self.risk_runs(business_date)

        self.chapter("v2: a harmless change", "Canaried 10 % → 50 % → 100 % with analysis.")
        self.commit(HARMLESS_PATCH.named("v2: clarify the docs", "v2"))
        v2 = self.release("v2")
        self.through_staging(v2)
        self.to_prod(v2)
        self.riskctl("status")

        self.chapter(
            "v3: VaR × 1.5",
            "A model change nobody declared: the shadow comparison stops it in staging.",
        )
        self.commit(MODEL_CHANGE_PATCH)
        v3 = self.release("v3")
        self.through_staging(v3, staging_expect=1)
        self.say("staging still serves v2:")
        self.riskctl("status", "--env", "staging")

        self.chapter(
            "v4: a defect under sustained traffic",
            "Passes dev and staging; the prod canary analysis aborts it.",
        )
        self.git("revert", "--no-edit", "HEAD")
        self.say("eng-1 reverts v3's undeclared model change, then commits v4:")
        self.commit(DEFECT_PATCH)
        v4 = self.release("v4")
        self.through_staging(v4)
        self.to_prod(v4, expect=1)
        self.riskctl("status")
        self.say("the morning numbers still arrive, from the stable release:")
        self.risk_runs(business_date, ("prod",))

        self.chapter("incident", "v4's automatic rollback opened an incident; sre-1 closes it.")
        self.riskctl("incident", "list")
        for incident in self.riskctl_json("incident", "list", "--open")["incidents"]:
            self.riskctl(
                "incident", "resolve", incident["id"], "--as", "sre-1",
                "--root-cause", "v4's pooled connections leak under sustained prod traffic",
                "--regression-test", "a sustained-load API test that fails on any 5xx",
            )  # fmt: skip

        self.chapter(
            "evidence",
            "The audit trail verifies under the pinned key, with the witness's cosignature on "
            "its latest checkpoint; history shows every step.",
        )
        self.riskctl("audit", "verify")
        self.riskctl("history")
        self.chapter("DORA metrics", "From the same audit trail, with their definitions.")
        self.riskctl("dora", "--env", "prod", "--days", "1")
        elapsed = time.monotonic() - self.started
        self.console.print(
            Panel(
                f"done in {elapsed:.0f} s. Front doors: dev http://127.0.0.1:18100, staging "
                "http://127.0.0.1:18200, prod http://127.0.0.1:18300 (still running; "
                "`make demo-clean` stops them).\nDashboard of this story: "
                f"RISKCTL_HOME={self.home.relative_to(self.root)} "
                f"RISKCTL_CONFIG={self.policy.relative_to(self.root)} .venv/bin/riskctl "
                "dashboard, then open http://127.0.0.1:8400",
                title="riskctl demo",
            )
        )


def _git() -> str:
    found = shutil.which("git")
    if found is None:
        raise DemoError("git is not installed")
    return found


def _last_session(today: dt.date) -> dt.date:
    """The most recent NYSE session strictly before ``today``, for a complete day of data."""
    calendar = ExchangeCalendar("XNYS")
    day = today - dt.timedelta(days=1)
    while not calendar.is_session(day):
        day -= dt.timedelta(days=1)
    return day


def _pids(home: Path) -> list[int]:
    pids = []
    for pidfile in [*home.rglob("*.pid")]:
        try:
            pids.append(int(pidfile.read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def clean(root: Path, *, quiet: bool = False) -> None:
    """Stop what the demo started (HAProxy, supervisord and its programs) and remove its state."""
    work = root / WORKSPACE
    if not work.exists():
        return
    policy, home = work / "delivery-demo.toml", work / "home"
    if policy.exists() and home.exists():
        # The target knows where its HAProxy runtime lives (possibly outside the home, when the
        # home's path is too long for a unix socket) and how to stop supervisord's programs.
        try:
            LocalTarget(home, load_config(policy).config).shutdown()
        except (RiskctlError, OSError) as exc:
            if not quiet:
                print(f"warning: {exc}; stopping by pid files")
    stop_witness(work)
    for pid in _pids(work / "home"):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            continue
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in _pids(work / "home")):
        time.sleep(0.1)
    shutil.rmtree(work, ignore_errors=True)
    if not quiet:
        print(f"stopped the demo's processes and removed {WORKSPACE}/")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def run_demo(root: Path, argv: Sequence[str] = ()) -> int:
    """Entry point: 0 when the story ran to its end, 1 otherwise (with the failing step)."""
    demo = Demo(root)
    try:
        demo.run()
    except (DemoError, subprocess.CalledProcessError, OSError) as exc:
        demo.console.print(f"[bold red]demo stopped:[/] {exc}")
        return 1
    return 0


__all__ = ["WORKSPACE", "Demo", "DemoError", "clean", "run_demo"]
