"""Daily-run benchmark: the per-portfolio computation in-process vs on a Dask LocalCluster.

In one run and on the same seeded book it times the executor seam of the daily run
(``executor.risk``: every portfolio's VaR 95/99, ES 97.5 and Euler components, in blocks):

* the in-process executor (one thread per core, one BLAS thread per block);
* ``DaskExecutor`` on a LocalCluster with 1 and with 2 worker processes (scatter included);
* a larger book whose whole-book computation does not fit one worker's ``memory_limit``,
  in-process and on the 2-worker cluster with that limit —

and prints seconds, throughput (portfolios × instruments × scenarios per second), ratios against
the in-process baseline, and whether the Dask figures equal the in-process ones to the bit.
Loading positions and market data, validation and the write are the same code whichever executor
computes, so they are not part of these figures (docs/scale.md discusses them). Figures, not
assertions: the exit code is 0 unless something crashes.  ``--quick`` uses a small book.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable

import numpy as np
from distributed import Client, LocalCluster

from risk_service.daily_run.distributed import DaskExecutor
from risk_service.daily_run.executor import (
    FloatArray,
    InProcessExecutor,
    PortfolioRisk,
    RiskSpec,
    plan_blocks,
)

SPEC = RiskSpec(var_levels=(0.95, 0.99), es_level=0.975)
BOOK = (1_000, 5_000, 2_500)  # portfolios, instruments, scenarios (issue 10)
LARGE = (4_000, 5_000, 2_500)
MEMORY_LIMIT = 768 * 2**20  # per worker, for the larger book
QUICK = (100, 500, 500), (3_000, 3_000, 1_000), 300 * 2**20


def make_book(portfolios: int, instruments: int, scenarios: int) -> tuple[FloatArray, FloatArray]:
    """Seeded: each portfolio holds ~2 % of the universe; Student-t(4) daily returns."""
    rng = np.random.default_rng(20261204)
    held = rng.random((portfolios, instruments)) < 0.02
    exposures = np.where(held, rng.normal(0, 1e6, (portfolios, instruments)), 0.0)
    returns = rng.standard_t(4, (scenarios, instruments)) * 0.01
    return exposures, returns


def whole_book_bytes(portfolios: int, instruments: int, scenarios: int) -> int:
    """Memory of computing the book in one piece: inputs, P&L/losses/ranks, two component sets."""
    return 8 * (
        portfolios * instruments + scenarios * instruments  # exposures, returns
        + 3 * scenarios * portfolios  # P&L, losses, argpartition ranks
        + 2 * portfolios * instruments  # components at 95 % and 99 %
    )  # fmt: skip


def timed(fn: Callable[[], PortfolioRisk]) -> tuple[float, PortfolioRisk]:
    """Wall time of one call (after the caller's warm-up) and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def identical(a: PortfolioRisk, b: PortfolioRisk) -> bool:
    """Every figure equal to the last bit."""
    return bool(
        np.array_equal(a.es, b.es)
        and all(np.array_equal(a.var[c], b.var[c]) for c in SPEC.var_levels)
        and all(np.array_equal(a.component[c], b.component[c]) for c in SPEC.var_levels)
    )


def cluster(workers: int, memory_limit: int | str = "auto") -> tuple[LocalCluster, Client]:
    """A LocalCluster of ``workers`` single-threaded processes on 127.0.0.1, and its client."""
    c = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit,
        dashboard_address="127.0.0.1:0",
        host="127.0.0.1",
    )
    return c, Client(c)


def run_book(
    label: str, shape: tuple[int, int, int], workers: list[int], memory_limit: int | str = "auto"
) -> None:
    """Time one book in-process and on each cluster size; print figures and ratios."""
    p, n, t = shape
    exposures, returns = make_book(*shape)
    cells = p * n * t
    blocks = plan_blocks(p, n, t)
    print(
        f"\n{label}: {p:,} portfolios x {n:,} instruments x {t:,} scenarios, "
        f"{len(blocks)} blocks of ~{blocks[0].stop - blocks[0].start} portfolios; "
        f"whole-book footprint {whole_book_bytes(*shape) / 2**20:,.0f} MiB"
    )
    in_process = InProcessExecutor()
    in_process.risk(exposures[:16], returns, SPEC)  # warm-up: threads, BLAS
    base_s, base = timed(lambda: in_process.risk(exposures, returns, SPEC))
    print(
        f"  in-process ({in_process.threads} threads)   {base_s:8.2f} s   "
        f"{cells / base_s:12.3e} cells/s   1.00x"
    )
    for count in workers:
        lc, client = cluster(count, memory_limit)
        try:
            dask = DaskExecutor(client, timeout=3_600)
            limit = ""
            if memory_limit != "auto":
                limit = f", memory_limit {int(memory_limit) / 2**20:,.0f} MiB each"
                fits = whole_book_bytes(*shape) <= int(memory_limit)
                print(
                    f"  [{'met' if not fits else 'MISSED'}] the whole book exceeds one worker's "
                    f"memory_limit: {whole_book_bytes(*shape) / 2**20:,.0f} MiB > "
                    f"{int(memory_limit) / 2**20:,.0f} MiB"
                )
            dask.risk(exposures[:16], returns, SPEC)  # warm-up: worker imports
            seconds, got = timed(lambda d=dask: d.risk(exposures, returns, SPEC))  # type: ignore[misc]
            per_worker = cells / seconds / count
            print(
                f"  Dask LocalCluster {count} worker(s){limit}   {seconds:8.2f} s   "
                f"{cells / seconds:12.3e} cells/s ({per_worker:.3e} per worker)   "
                f"{base_s / seconds:.2f}x in-process speed"
            )
            same = identical(base, got)
            print(f"  [{'met' if same else 'MISSED'}] {count}-worker figures equal in-process bits")
        finally:
            client.close()
            lc.close()


def main() -> None:
    """Both books; see the module docstring."""
    quick = "--quick" in sys.argv
    book, large, limit = QUICK if quick else (BOOK, LARGE, MEMORY_LIMIT)
    print(
        f"daily-run benchmark on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"
        + (" (--quick: small books)" if quick else "")
    )
    print("figures are the executor seam (compute); load, validation and write are common code")
    run_book("book", book, workers=[1, 2])
    run_book("larger book", large, workers=[2], memory_limit=limit)


if __name__ == "__main__":
    main()
