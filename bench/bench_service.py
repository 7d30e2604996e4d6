"""Service benchmarks: HTTP throughput/latency with wrk, and the daily run at full size.

Prints figures and ratios against baselines measured in the same run; asserts nothing.

HTTP: ``POST /v1/portfolio/var`` with 50 positions over 2,500 days of stored market data, 2
workers, driven by wrk on 127.0.0.1 — max requests/s (16 connections) and p50/p99 latency at a
constant 200 requests/s (wrk paced by a Lua schedule, wrk2-style, reporting the rate achieved) —
for the service and for the same endpoint wrapping the original pure-Python algorithm
(``original_var_calculator.py``). Each target is marked [met] or [MISSED].

Daily run: 1,000 portfolios over 5,000 instruments and 2,500 scenarios, end to end including the
database write, on SQLite and PostgreSQL, split into load / compute / validate / write, beside
the bare kernel (one matrix product for all portfolios plus the rank selection); and how the
SQLite run grows for 1/4, 1/2 and 1x the book.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from risk_service.daily_run import Release, RunOptions, daily_run
from risk_service.marketdata.synthetic import SyntheticSource, SyntheticSpec, generate, universe
from risk_service.sessions import nyse
from risk_service.store import database, repository

HERE = Path(__file__).resolve().parent
DAY = dt.date(2026, 11, 25)
SCENARIOS = 2_500
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RELEASE = Release(version="bench", digest="sha256:" + "0" * 64, git_sha="bench")
#: The paced measurement offers this many requests/s at a constant rate (the latency goal's rate),
#: over enough connections that a slow answer never leaves the schedule without a free one.
PACED_RATE = 200.0
PACED_CONNECTIONS = 16
#: Different books the HTTP benchmarks rotate through (50 positions each), so what is measured
#: is not a cache holding one book's answer or matrix warm in the CPU caches.
BOOKS = 32


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def spec_for(instruments: int, portfolios: int, lo: int, hi: int) -> SyntheticSpec:
    """A synthetic book whose path starts just before the scenario window (fast to generate)."""
    origin = nyse().sessions_before(DAY, SCENARIOS + 5)[0]
    return SyntheticSpec(
        seed=42,
        instruments=instruments,
        portfolios=portfolios,
        origin=origin,
        min_positions=lo,
        max_positions=hi,
    )


HTTP_SPEC = spec_for(instruments=200, portfolios=1, lo=1, hi=1)


# --- the baseline server: the same endpoint around the original algorithm ----------------------


class Body(BaseModel):
    """The baseline endpoint's request."""

    positions: dict[str, float]
    confidence: float = 0.99


def baseline_app() -> Any:
    """FastAPI app serving POST /v1/portfolio/var with the original pure-Python algorithm."""
    from fastapi import FastAPI  # noqa: PLC0415

    import original_var_calculator as original  # noqa: PLC0415

    engine = database.make_engine(os.environ["RISK_SERVICE_DATABASE_URL"])
    with database.session_factory(engine)() as session:
        _, _, last = repository.market_data_summary(session)
        assert last is not None
        window = repository.load_market_window(session, last, SCENARIOS)
    columns = {s: window.matrix[:, j].tolist() for j, s in enumerate(window.symbols)}

    app = FastAPI()

    @app.post("/v1/portfolio/var")
    def portfolio(body: Body) -> dict[str, Any]:
        return original.calculate_portfolio_var(body.positions, columns, body.confidence)

    return app


#: Server URL -> its process group, so wrk() can read the CPU time the server spent.
_GROUPS: dict[str, int] = {}


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of the live processes of process group ``pgid`` (Linux /proc).

    Per request, this is less distorted by other load on a shared machine than the wall-clock
    figures (which shrink with every competing process), though cache and scheduler contention
    still inflate it: compare it between servers of the same run, not across runs.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


@contextmanager
def server(cmd: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """Run a server process group until the block ends."""
    log = tempfile.NamedTemporaryFile(prefix="bench-serve-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603 - our own commands, no shell
        cmd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    _GROUPS[url] = proc.pid
    try:
        import httpx  # noqa: PLC0415

        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(Path(log.name).read_text()[-3000:])
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        Path(log.name).unlink(missing_ok=True)


LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {{ {bodies} }}
local turn = 0
function request()
  turn = turn % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[turn])
end
"""


def lua_script(bodies: list[str]) -> str:
    """wrk's script posting ``bodies`` in turn (JSON has no ``]]``, Lua's long-string end)."""
    return LUA.format(bodies=", ".join(f"[[{b}]]" for b in bodies))


# Constant-rate pacing (the open-loop schedule of wrk2, in wrk's LuaJIT): each thread owns every
# n-th slot of a fixed schedule at RATE/threads, and each request waits for the next free slot, so
# a slow answer does not lower the offered rate while another connection is free. A send that
# finds its slot already past (every connection was busy) is counted late: wrk times a request
# from its actual send, so the late share says how far the latency figures can understate.
PACED_LUA = """
local ffi = require("ffi")
ffi.cdef[[ typedef struct {{ long tv_sec; long tv_nsec; }} bench_ts;
           int clock_gettime(int, bench_ts *); ]]
local ts = ffi.new("bench_ts")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local threads = {{}}
local interval = {interval_ms}
next_at, sent, late = nil, 0, 0  -- globals: done() reads them per thread
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  next_at = now_ms() + id * interval / {threads}
end
function delay()
  local now = now_ms()
  local wait = next_at - now
  next_at = next_at + interval
  sent = sent + 1
  if wait < -1 then late = late + 1 end
  if wait <= 0 then return 0 end
  return math.floor(wait + 0.5)
end
function done(summary, latency, requests)
  local s, l = 0, 0
  for _, t in ipairs(threads) do s = s + t:get("sent"); l = l + t:get("late") end
  io.write(string.format("paced: sent %d late %d\\n", s, l))
end
"""


def wrk(
    url: str, bodies: list[str], connections: int, seconds: int, rate: float | None = None
) -> dict[str, float]:
    """Run wrk flat out, or at a constant ``rate`` (requests/s over all connections), posting
    ``bodies`` in turn; returns requests/s achieved, p50 and p99 in ms, the non-2xx count, the
    share of late sends and the server's CPU ms per request."""
    threads = 2
    script = lua_script(bodies)
    if rate is not None:
        script += PACED_LUA.format(interval_ms=threads * 1000.0 / rate, threads=threads)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    group = _GROUPS.get(url)
    cpu_before = group_cpu_seconds(group) if group else float("nan")
    try:
        out = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [
                shutil.which("wrk") or "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                fh.name,
                f"{url}/v1/portfolio/var",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(fh.name)
    cpu = (group_cpu_seconds(group) if group else float("nan")) - cpu_before

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}%\s+([0-9.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:
            return float("nan")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        return float(m.group(1)) * scale

    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    paced = re.search(r"paced: sent (\d+) late (\d+)", out)
    done = re.search(r"(\d+) requests in", out)
    return {
        "cpu_ms": cpu * 1000.0 / int(done.group(1)) if done and int(done.group(1)) else math.nan,
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50": ms("50"),
        "p99": ms("99"),
        "errors": float(bad.group(1)) if bad else 0.0,
        "late": int(paced.group(2)) / max(int(paced.group(1)), 1) if paced else float("nan"),
    }


def mark(ok: bool) -> str:
    """The bench's verdict on one target."""
    return "[met]   " if ok else "[MISSED]"


def http_fixture(tmp: Path) -> tuple[str, list[str]]:
    """The HTTP benchmarks' store (200 instruments, 2,500 days) and ``BOOKS`` request bodies
    (50 positions each, drawn from the 200)."""
    url_db = f"sqlite:///{tmp / 'http.db'}"
    if not (tmp / "http.db").exists():  # made once per run, shared by the HTTP benchmarks
        engine = database.make_engine(url_db)
        database.upgrade(engine)
        generate(database.session_factory(engine), HTTP_SPEC, DAY, SCENARIOS)
        engine.dispose()
    symbols = universe(HTTP_SPEC).symbols
    rng = np.random.default_rng(3)
    bodies = []
    for _ in range(BOOKS):
        picks = rng.choice(len(symbols), 50, replace=False)
        book = {symbols[j]: round(float(rng.normal(0, 1e6)), 2) for j in picks}
        bodies.append(json.dumps({"positions": book, "confidence": 0.99}))
    return url_db, bodies


def bench_http(tmp: Path) -> None:
    """HTTP figures for the service and the original-algorithm baseline."""
    if shutil.which("wrk") is None:
        print("wrk not installed (make setup installs it): HTTP benchmark skipped")
        return
    url_db, bodies = http_fixture(tmp)
    env = {
        "RISK_SERVICE_DATABASE_URL": url_db,
        "RISK_SERVICE_WINDOW": str(SCENARIOS),
        "RISK_SERVICE_LOG_LEVEL": "WARNING",
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    load = os.getloadavg()[0]  # a busy machine explains a [MISSED] better than the code does
    port = free_port()
    cli = Path(sys.executable).with_name("risk-service")
    with server([str(cli), "serve", "--port", str(port), "--workers", "2"], env, port) as url:
        wrk(url, bodies, 4, 2)  # warm-up: caches in both workers
        results["service"] = {
            "max": wrk(url, bodies, 16, 10),
            "paced": wrk(url, bodies, PACED_CONNECTIONS, 10, PACED_RATE),
        }
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(HERE),
        "--factory",
        "bench_service:baseline_app",
        "--port",
        str(port),
        "--workers",
        "2",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with server(cmd, env, port) as url:
        wrk(url, bodies, 4, 2)
        results["baseline"] = {
            "max": wrk(url, bodies, 16, 10),
            "paced": wrk(url, bodies, PACED_CONNECTIONS, 10, PACED_RATE),
        }
    print(
        f"\nHTTP POST /v1/portfolio/var — {BOOKS} books in turn, 50 positions x 2,500 stored days,"
        " 2 workers, wrk"
    )
    print(f"(load average {load:.1f} on {os.cpu_count()} cores when the measurement started)")
    print(
        f"{'':12}{'max req/s':>11}  | paced at {PACED_RATE:.0f}/s: {'achieved':>9}{'p50 ms':>8}"
        f"{'p99 ms':>8}{'late':>7}  |{'non-2xx':>8}"
    )
    for name, r in results.items():
        print(
            f"{name:12}{r['max']['rps']:11.0f}  | {'':15}{r['paced']['rps']:9.0f}"
            f"{r['paced']['p50']:8.2f}{r['paced']['p99']:8.2f}{r['paced']['late']:7.1%}  |"
            f"{r['max']['errors'] + r['paced']['errors']:8.0f}"
        )
    service, baseline = results["service"], results["baseline"]
    ratio = service["max"]["rps"] / baseline["max"]["rps"]
    cpu, base_cpu = service["max"]["cpu_ms"], baseline["max"]["cpu_ms"]
    print(
        f"server CPU per request at max rate: service {cpu:.2f} ms, baseline {base_cpu:.2f} ms"
        f" ({base_cpu / cpu:.1f}x); {os.cpu_count()} cores of server CPU alone would serve"
        f" ~{(os.cpu_count() or 1) * 1000 / cpu:.0f} req/s (an upper bound: wrk needs CPU too)"
    )
    paced = service["paced"]
    held = paced["rps"] >= 0.95 * PACED_RATE
    print("targets:")
    top = service["max"]["rps"]
    print(f"  {mark(top >= 1000)} >= 1,000 req/s max: {top:.0f}")
    print(
        f"  {mark(held and paced['p99'] <= 25)} p99 <= 25 ms at an achieved {PACED_RATE:.0f} req/s:"
        f" p99 {paced['p99']:.2f} ms at {paced['rps']:.0f} req/s"
        f" ({paced['late']:.1%} of sends late)"
    )
    print(f"  {mark(ratio >= 10)} >= 10x the original algorithm served the same way: {ratio:.1f}x")
    print(
        f"  {mark(service['max']['errors'] + paced['errors'] == 0)} no non-2xx answers:"
        f" {service['max']['errors'] + paced['errors']:.0f}"
    )


def bench_stacks(tmp: Path) -> None:
    """Max req/s and paced latency of the service under each server stack, same store and book:
    uvicorn with uvloop + httptools (what ``risk-service serve`` runs), uvicorn with asyncio + h11,
    and granian when it is importable (it is not a project dependency; see docs/performance.md).
    """
    url_db, bodies = http_fixture(tmp)
    env = {
        "RISK_SERVICE_DATABASE_URL": url_db,
        "RISK_SERVICE_WINDOW": str(SCENARIOS),
        "RISK_SERVICE_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
    }
    (tmp / "metrics").mkdir(exist_ok=True)
    factory = "risk_service.api.app:create_app"
    stacks: dict[str, list[str]] = {
        "uvicorn uvloop+httptools": [
            sys.executable, "-m", "uvicorn", "--factory", factory, "--workers", "2",
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        ],
        "uvicorn asyncio+h11": [
            sys.executable, "-m", "uvicorn", "--factory", factory, "--workers", "2",
            "--loop", "asyncio", "--http", "h11", "--no-access-log", "--log-level", "warning",
        ],
    }  # fmt: skip
    try:
        import granian  # type: ignore[import-not-found]  # noqa: F401, PLC0415

        stacks["granian (Rust, asgi)"] = [
            sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--workers", "2",
            "--no-ws", "--log-level", "warning", factory,
        ]  # fmt: skip
    except ImportError:
        print("granian not importable: its line is left out")
    print(f"\nserver stacks, same app (load average {os.getloadavg()[0]:.1f})")
    print(
        f"{'':28}{'max req/s':>10}{'paced p50':>11}{'p99 ms':>8}{'achieved':>10}{'CPU ms/req':>11}"
    )
    for name, cmd in stacks.items():
        port = free_port()
        flag = ["--port", str(port)]
        with server([*cmd[:3], *flag, *cmd[3:]], env, port) as url:
            wrk(url, bodies, 4, 2)
            top = wrk(url, bodies, 16, 8)
            paced = wrk(url, bodies, PACED_CONNECTIONS, 8, PACED_RATE)
        print(
            f"{name:28}{top['rps']:10.0f}{paced['p50']:11.2f}{paced['p99']:8.2f}"
            f"{paced['rps']:10.0f}{top['cpu_ms']:10.2f}"
        )


# --- the daily run -------------------------------------------------------------------------------


def bare_kernel(exposures: np.ndarray, returns: np.ndarray) -> float:
    """Seconds for one matrix product for all portfolios plus the rank selection (VaR 95/99)."""
    start = time.perf_counter()
    pnl = returns @ exposures.T
    n = pnl.shape[0]
    ranks = [int(np.ceil(round(c * n, 9))) - 1 for c in (0.95, 0.975, 0.99)]
    np.partition(-pnl, ranks, axis=0)
    return time.perf_counter() - start


def run_once(url: str, spec: SyntheticSpec) -> dict[str, float]:
    """Prepare the inputs (untimed), then time one daily run end to end."""
    engine = database.make_engine(url)
    database.upgrade(engine)
    factory = database.session_factory(engine)
    t0 = time.perf_counter()
    generate(factory, spec, DAY, SCENARIOS)
    prep = time.perf_counter() - t0
    opts = RunOptions(environment="dev", window=SCENARIOS, move_threshold=0.5)
    start = time.perf_counter()
    report = daily_run(factory, DAY, source=SyntheticSource(spec), release=RELEASE, options=opts)
    total = time.perf_counter() - start
    with factory() as session:
        rows = repository.load_positions(session, DAY)
        symbols = sorted({r.symbol for r in rows})
        window = repository.load_market_window(
            session, nyse().previous_session(DAY), SCENARIOS, symbols
        )
    pids = sorted({r.portfolio_id for r in rows})
    p_index = {p: i for i, p in enumerate(pids)}
    s_index = {s: j for j, s in enumerate(symbols)}
    exposures = np.zeros((len(pids), len(symbols)))
    for r in rows:
        exposures[p_index[r.portfolio_id], s_index[r.symbol]] += r.notional
    kernel = min(bare_kernel(exposures, window.matrix) for _ in range(3))
    engine.dispose()
    t = report.timings
    return {
        "portfolios": report.portfolios,
        "instruments": len(symbols),
        "positions": len(rows),
        "total": total,
        "prepare": t.get("prepare", 0.0),
        "load": t["load"],
        "compute": t["compute"],
        "validate": t["validate"],
        "write": t["write"],
        "kernel": kernel,
        "data_prep": prep,
    }


def print_run(name: str, r: dict[str, float]) -> None:
    """One line of daily-run figures."""
    io = r["prepare"] + r["load"] + r["write"]
    print(
        f"{name:22}{r['portfolios']:>6.0f}{r['instruments']:>7.0f}{r['positions']:>9.0f}"
        f"{r['total']:>8.2f}{io:>8.2f}{r['compute']:>9.3f}{r['validate']:>8.3f}"
        f"{r['kernel']:>8.3f}{r['compute'] / r['kernel']:>7.2f}x"
    )


def bench_daily_run(tmp: Path) -> None:
    """Daily-run figures on SQLite (three sizes) and PostgreSQL."""
    print(
        f"\nDaily run {DAY.isoformat()}: {SCENARIOS:,} scenarios, VaR 95/99 + ES 97.5 + Euler "
        "components, one transaction\n(targets: <= 10 s end to end, compute <= 3x bare kernel)"
    )
    print(
        f"{'store':22}{'books':>6}{'instr':>7}{'positions':>9}{'total s':>8}{'I/O s':>8}"
        f"{'compute':>9}{'valid.':>8}{'kernel':>8}{'c/k':>8}"
    )
    full: dict[str, float] = {}
    for share, portfolios in (("1/4", 250), ("1/2", 500), ("1x", 1000)):
        spec = spec_for(instruments=5000, portfolios=portfolios, lo=20, hi=100)
        r = run_once(f"sqlite:///{tmp / f'run-{portfolios}.db'}", spec)
        print_run(f"SQLite {share}", r)
        full = r
    try:
        import psycopg  # noqa: PLC0415

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            spec = spec_for(instruments=5000, portfolios=1000, lo=20, hi=100)
            r = run_once(f"{PG}?options=-csearch_path%3D{schema}", spec)
            print_run("PostgreSQL 1x", r)
        finally:
            with psycopg.connect(PG.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL unavailable ({exc.__class__.__name__}): PostgreSQL run skipped")
    if full:
        print(
            f"I/O = prepare + load + write; c/k = engine compute / bare kernel. SQLite 1x end to "
            f"end {full['total']:.2f} s"
        )


def main() -> None:
    """Run both benchmarks in a scratch directory."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-service-"))
    try:
        if "--no-http" not in sys.argv:
            bench_http(tmp)
        if "--stacks" in sys.argv:
            bench_stacks(tmp)
        if "--no-run" not in sys.argv:
            bench_daily_run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
