"""Rollout benchmark: abort latency, defect-to-rollback time, failed requests under load.

Builds the test suite's fixture service (a tiny uvicorn app with the service's contract) into
releases, then drives real HAProxy, supervisord and riskctl:

* abort decision → 0 % canary traffic (target ≤ 1 s),
* defect onset (canary first gets weight) → completed rollback, with the *default* analysis
  settings of ``delivery.toml`` (target ≤ 15 s; Flagger's default interval × threshold is 60 s),
* failed requests during a blue-green switch and a canary abort at 100 requests/s (target 0).

Prints figures; asserts nothing. With ``RISKCTL_BENCH_PROFILE=FILE`` the measured ``riskctl
abort`` runs under cProfile and leaves its stats in FILE (``python -m pstats FILE``); the figure
then includes the profiler's overhead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.riskctl.conftest import distinct_ports  # noqa: E402
from tests.riskctl.fixture_project import commit_all, keyring, make_project  # noqa: E402
from tests.riskctl.progressive.conftest import (  # noqa: E402
    BASE_BEHAVIOUR,
    progressive_policy,
)

from riskctl.analysis.load import BackgroundLoad  # noqa: E402
from riskctl.config import load_config  # noqa: E402
from riskctl.shadow.golden import generate_golden_set  # noqa: E402
from riskctl.targets.local import LocalTarget  # noqa: E402

#: `riskctl abort` invoked -> 0 % canary before the CLI imported lazily (issue 11's table).
PREVIOUS_ABORT_MS = 2180.0
BODY = {"positions": {"A": 1.0e6}, "returns": {"A": [0.01, -0.02, 0.015, -0.03]}}
AUTH = {"Authorization": "Bearer bench"}


def riskctl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "riskctl", *args],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def pin(env: dict[str, str], policy: Path) -> None:
    """Put ``policy`` in force (signed by the fixture's admin): deploys refuse any other file."""
    out = riskctl({**env, "RISKCTL_CONFIG": str(policy)}, "policy", "pin", "--as", "admin")
    if out.returncode:
        raise SystemExit(out.stderr)


def build(repo: Path, env: dict[str, str], behaviour: dict[str, str]) -> str:
    text = BASE_BEHAVIOUR
    for key, value in behaviour.items():
        text = text.replace(f"{key} = ", f"{key} = {value}  # ", 1)
    (repo / "src" / "fixture_svc" / "behaviour.py").write_text(text, encoding="utf-8")
    commit_all(repo, f"bench {behaviour}")
    out = riskctl(env, "build", "--json")
    if out.returncode:
        raise SystemExit(out.stderr)
    return str(json.loads(out.stdout)["release"])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp:
        base = Path(tmp)
        names = [f"{e}{s}" for e in ("dev", "staging", "prod") for s in ("", "-blue", "-green")]
        ports = distinct_ports(names)
        repo = make_project(base / "repo", ports)
        (base / "golden-set.json").write_text(
            json.dumps(generate_golden_set(n_symbols=6, n_days=120, n_portfolios=3))
        )
        # Default analysis settings for prod (what delivery.toml ships), compressed elsewhere.
        text = progressive_policy(ports, manual_pause=True)
        prod_at = text.index("[environments.prod.analysis]")
        defaults = text[:prod_at] + "[environments.prod.analysis]\nmanual_pause_after = []\n"
        paused = base / "paused.toml"
        paused.write_text(text)
        policy = base / "policy.toml"
        policy.write_text(defaults)
        env = {
            **os.environ,
            "RISKCTL_HOME": str(base / "home"),
            "RISKCTL_CONFIG": str(policy),
            "RISKCTL_NOW": "2026-03-02T15:00:00Z",
            "RISKCTL_KEYRING": str(keyring()),  # the fixture people's keys prove each --as
        }
        env.pop("RISKCTL_ACTOR", None)
        os.chdir(repo)
        pin(env, policy)
        v1 = build(repo, env, {})
        v2 = build(repo, env, {"DAILY_RUN_FAILS": "False"})
        bad = build(repo, env, {"ERROR_EVERY": "4", "ERROR_AFTER": "40"})
        target = LocalTarget(base / "home", load_config(policy).config)
        try:
            run_bench(env, target, (policy, paused), (v1, v2, bad), ports)
        finally:
            target.shutdown()


def run_bench(
    env: dict[str, str],
    target: LocalTarget,
    policies: tuple[Path, Path],
    releases: tuple[str, str, str],
    ports: dict[str, int],
) -> None:
    v1, v2, bad = releases
    policy, paused = policies
    staging = f"http://127.0.0.1:{ports['staging']}/v1/portfolio/var"
    prod = f"http://127.0.0.1:{ports['prod']}/v1/portfolio/var"
    riskctl(env, "deploy", v1, "--env", "staging", "--as", "qa-1")
    with BackgroundLoad(staging, [BODY], rate=100, headers=AUTH) as load:
        start = time.monotonic()
        riskctl(env, "deploy", v2, "--env", "staging", "--as", "qa-1")
        switch_s = time.monotonic() - start
    switch = load.stop()

    penv = {**env, "RISKCTL_CONFIG": str(paused)}
    pin(env, paused)
    riskctl(penv, "deploy", v1, "--env", "prod", "--as", "sre-1")
    with BackgroundLoad(prod, [BODY], rate=100, headers=AUTH) as load:
        riskctl(penv, "deploy", v2, "--env", "prod", "--as", "sre-1")  # pauses at 10 %
        time.sleep(1.0)
        seen: dict[str, float] = {}

        def watch() -> None:
            while "zero" not in seen:
                weights = {s.server: s.weight for s in target.stats("prod")}
                if weights.get("green", 0) == 0:
                    seen["zero"] = time.monotonic()
                time.sleep(0.002)

        watcher = threading.Thread(target=watch)
        seen["decision"] = time.monotonic()
        watcher.start()
        abort_argv = ("abort", "prod", "--as", "sre-1", "--reason", "bench")
        profile = os.environ.get("RISKCTL_BENCH_PROFILE")
        if profile:
            subprocess.run(  # noqa: S603 - fixed argv
                [sys.executable, "-m", "cProfile", "-o", profile, "-m", "riskctl", *abort_argv],
                env=penv, capture_output=True, check=False,
            )  # fmt: skip
        else:
            riskctl(penv, *abort_argv)
        watcher.join(10)
        time.sleep(0.5)
    abort = load.stop()
    abort_to_zero = seen.get("zero", float("nan")) - seen["decision"]

    pin(env, policy)
    onset: dict[str, float] = {}
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "riskctl", "deploy", bad, "--env", "prod", "--as", "sre-1",
         "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    while proc.poll() is None:
        green = sum(s.weight for s in target.stats("prod") if s.server == "green")
        if "t" not in onset and green > 0:
            onset["t"] = time.monotonic()
        elif "t" in onset and "zero" not in onset and green == 0:
            onset["zero"] = time.time()  # wall clock, as the verdict's own timestamp
        time.sleep(0.005)
    done = time.monotonic()
    to_rollback = done - onset["t"] if "t" in onset else float("nan")
    try:
        verdict_at = float(json.loads(proc.stdout.read() if proc.stdout else "")["analysis"]["at"])
    except (ValueError, KeyError, TypeError):
        verdict_at = float("nan")
    verdict_to_zero = onset.get("zero", float("nan")) - verdict_at

    failed_switch = sum(1 for s in switch.samples if s.failed)
    failed_abort = sum(1 for s in abort.samples if s.failed)
    print("rollout benchmark (fixture service under uvicorn, real HAProxy + supervisord)")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    rows = [
        (
            verdict_to_zero <= 1.0,
            f"failed verdict -> 0 % canary           : {verdict_to_zero * 1e3:8.1f} ms "
            "(target <= 1000; the controller's own abort decision)",
        ),
        (
            abort_to_zero <= 1.0,
            f"`riskctl abort` invoked -> 0 % canary  : {abort_to_zero * 1e3:8.1f} ms "
            f"(target <= 1000, previously {PREVIOUS_ABORT_MS:.0f}; includes starting riskctl)",
        ),
        (
            to_rollback <= 15.0,
            f"defect onset -> rollback complete     : {to_rollback:8.2f} s  "
            f"(target <= 15, default analysis settings; deploy exit {proc.returncode})",
        ),
        (
            failed_switch == 0,
            f"blue-green switch ({switch_s:.1f} s)          : {failed_switch:5d} failed of "
            f"{switch.sent} requests at 100/s (target 0)",
        ),
        (
            failed_abort == 0,
            f"canary abort under load               : {failed_abort:5d} failed of "
            f"{abort.sent} requests at 100/s (target 0)",
        ),
    ]
    for ok, text in rows:  # NaN (never observed) compares False: MISSED
        print(f"  {'[met]   ' if ok else '[MISSED]'} {text}")


if __name__ == "__main__":
    main()
