"""Where a request's time goes: cProfile inside one uvicorn worker while wrk drives it.

Builds the HTTP benchmark's store (50 positions x 2,500 stored days), serves the app in this
process (one worker, the stack ``risk-service serve`` uses), drives ``POST /v1/portfolio/var``
with wrk for a few seconds and prints the top frames by own time and by cumulative time. The
figures recorded in ``docs/performance.md`` come from this script.

Usage: ``python bench/profile_service.py [seconds]``
"""

from __future__ import annotations

import cProfile
import json
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_service import DAY, LUA, SCENARIOS, free_port, spec_for
from risk_service.api import create_app
from risk_service.config import Settings
from risk_service.marketdata.synthetic import generate, universe
from risk_service.store import database


def main() -> None:
    """Profile the service under wrk load and print the top frames."""
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    tmp = Path(tempfile.mkdtemp(prefix="profile-service-"))
    try:
        url_db = f"sqlite:///{tmp / 'http.db'}"
        spec = spec_for(instruments=200, portfolios=1, lo=1, hi=1)
        store = database.make_engine(url_db)
        database.upgrade(store)
        generate(database.session_factory(store), spec, DAY, SCENARIOS)
        store.dispose()
        symbols = universe(spec).symbols
        rng = np.random.default_rng(3)
        book = {symbols[j]: round(float(rng.normal(0, 1e6)), 2) for j in rng.choice(200, 50)}
        body = json.dumps({"positions": book, "confidence": 0.99})
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
        script.write_text(LUA.format(body=body))
        wrk = [shutil.which("wrk") or "wrk", "-t1", "-c8", "-s", str(script)]
        target = f"http://127.0.0.1:{port}/v1/portfolio/var"
        result: dict[str, str] = {}

        def drive() -> None:
            while not server.started:
                time.sleep(0.05)
            result["out"] = subprocess.run(  # noqa: S603
                [*wrk, f"-d{seconds}s", target], check=True, capture_output=True, text=True
            ).stdout
            server.should_exit = True

        profiler = cProfile.Profile()
        threading.Thread(target=drive, daemon=True).start()
        # cProfile follows the thread that enables it: this one, which runs the server's loop
        # (start-up, a few ms of it, is included).
        profiler.enable()
        server.run()
        profiler.disable()
        out = result.get("out", "")
        print(out.strip().splitlines()[-2])  # Requests/sec
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
