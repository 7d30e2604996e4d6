"""Where a request's time goes: cProfile inside one uvicorn worker while wrk drives it.

Builds the HTTP benchmark's store (2,500 stored days) and its books (50 positions each, posted
in turn), serves the app in this process (one worker, the stack ``risk-service serve`` uses),
drives ``POST /v1/portfolio/var`` with wrk for a few seconds and prints the top frames by own
time and by cumulative time, and the worker's CPU time per request. The figures recorded in
``docs/performance.md`` come from this script.

Usage: ``python bench/profile_service.py [seconds] [--no-profile]`` (``--no-profile``: the CPU
time per request without cProfile's own overhead)
"""

from __future__ import annotations

import cProfile
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_service import SCENARIOS, free_port, http_fixture, lua_script
from risk_service.api import create_app
from risk_service.config import Settings


def main() -> None:
    """Profile the service under wrk load and print the top frames."""
    tmp = Path(tempfile.mkdtemp(prefix="profile-service-"))
    try:
        url_db, bodies = http_fixture(tmp)
        args = [a for a in sys.argv[1:] if not a.startswith("--")]
        seconds = int(args[0]) if args else 8
        profiling = "--no-profile" not in sys.argv
        settings = Settings(
            _env_file=None,
            database_url=url_db,
            window=SCENARIOS,
            log_level="WARNING",
        )
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), port=port, log_level="warning", access_log=False)
        )
        script = tmp / "post.lua"
        script.write_text(lua_script(bodies))
        wrk = [shutil.which("wrk") or "wrk", "-t1", "-c8", "-s", str(script)]
        target = f"http://127.0.0.1:{port}/v1/portfolio/var"
        result: dict[str, str] = {}

        def drive() -> None:
            while not server.started:
                time.sleep(0.05)
            cpu = time.process_time()  # this process's CPU (all threads) while wrk drives it
            result["out"] = subprocess.run(  # noqa: S603
                [*wrk, f"-d{seconds}s", target], check=True, capture_output=True, text=True
            ).stdout
            result["cpu"] = str(time.process_time() - cpu)
            server.should_exit = True

        profiler = cProfile.Profile()
        threading.Thread(target=drive, daemon=True).start()
        # cProfile follows the thread that enables it: this one, which runs the server's loop
        # (start-up, a few ms of it, is included).
        if profiling:
            profiler.enable()
        server.run()
        if profiling:
            profiler.disable()
        cpu = float(result.get("cpu", "nan"))
        out = result.get("out", "")
        print(out.strip().splitlines()[-2])  # Requests/sec
        done = re.search(r"(\d+) requests in", out)
        if done:
            served = int(done.group(1))
            print(f"worker CPU per request: {cpu * 1000 / served:.3f} ms ({served} requests)")
        if not profiling:
            return
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
