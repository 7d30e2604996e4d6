"""The performance budget: the release's service computes VaR on the reference book within
``budget_ms`` (median over ``samples`` requests to ``POST /v1/portfolio/var``).

The service is treated as a black box: it is started from the release's tree with its own CLI and
measured over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from riskctl._proc import free_port, spawn, stop, which
from riskctl.config import GateSpec
from riskctl.errors import UsageError
from riskctl.gates.interface import GateContext, GateResult
from riskctl.model import GateStatus
from riskctl.riskclient import HEALTHZ, PORTFOLIO_VAR, instance_url, url

__all__ = ["PerformanceGate", "reference_book"]

SAMPLES = 20
WARMUP = 3


def reference_book(symbols: int = 20, days: int = 500, seed: int = 20240101) -> dict[str, Any]:
    """A fixed long/short book with seeded daily returns (the same on every run)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    names = [f"SYM{i:02d}" for i in range(symbols)]
    return {
        "positions": {n: (1_000_000.0 if i % 3 else -500_000.0) for i, n in enumerate(names)},
        "returns": {n: [rng.gauss(0.0, 0.01) for _ in range(days)] for n in names},
        "confidence": 0.99,
        "method": "historical",
    }


@dataclass(frozen=True)
class PerformanceGate:
    """Starts the service (``commands[0]`` with ``{port}``), then times the reference book."""

    name: str
    spec: GateSpec

    def _wait_healthy(
        self, client: httpx.Client, base: str, deadline: float, proc: subprocess.Popen[bytes]
    ) -> bool:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if client.get(url(base, HEALTHZ)).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        return False

    def run(self, ctx: GateContext) -> GateResult:
        started = time.monotonic()
        port = free_port()
        argv = [ctx.substitute(a, port=str(port)) for a in self.spec.commands[0]]
        env = ctx.environment(
            {k: ctx.substitute(v, port=str(port)) for k, v in self.spec.env.items()}
        )
        log = [f"$ {' '.join(argv)}\n".encode()]
        try:
            program = which(argv[0], [Path(ctx.python).parent])
        except UsageError as exc:
            return GateResult(self.name, GateStatus.FAILED, 0.0, str(exc), str(exc).encode())
        # The service is measured from riskctl's side, so it needs the host's loopback.
        proc = spawn(ctx.command([program, *argv[1:]], network=True), cwd=ctx.source, env=env)
        base = instance_url(port)
        book = reference_book()
        try:
            with httpx.Client(timeout=30.0) as client:
                if not self._wait_healthy(client, base, time.monotonic() + 60, proc):
                    return self._result(started, GateStatus.FAILED, "service did not start", log)
                timings = []
                for i in range(WARMUP + SAMPLES):
                    t0 = time.perf_counter()
                    response = client.post(url(base, PORTFOLIO_VAR), json=book)
                    elapsed = (time.perf_counter() - t0) * 1000
                    if response.status_code != 200:
                        log.append(response.content[:2000])
                        return self._result(
                            started,
                            GateStatus.FAILED,
                            f"{PORTFOLIO_VAR.path} answered {response.status_code}",
                            log,
                        )
                    if i >= WARMUP:
                        timings.append(elapsed)
        except httpx.HTTPError as exc:
            return self._result(started, GateStatus.FAILED, f"request failed: {exc}", log)
        finally:
            stop(proc)
        median = statistics.median(timings)
        worst = max(timings)
        log.append(f"timings_ms={[round(t, 3) for t in timings]}\n".encode())
        ok = median <= self.spec.budget_ms
        summary = f"median {median:.1f} ms, max {worst:.1f} ms (budget {self.spec.budget_ms:g} ms)"
        status = GateStatus.PASSED if ok else GateStatus.FAILED
        return self._result(started, status, summary, log, {"median_ms": median, "max_ms": worst})

    def _result(
        self,
        started: float,
        status: GateStatus,
        summary: str,
        log: list[bytes],
        metrics: dict[str, float] | None = None,
    ) -> GateResult:
        duration = time.monotonic() - started
        return GateResult(self.name, status, duration, summary, b"".join(log), metrics or {})
