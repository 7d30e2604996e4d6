"""Engine benchmark: fast engine vs the original algorithm vs the bare numpy kernel.

For books of N positions × T scenarios it times, in one run and on the same data:

* ``portfolio_var`` (historical: VaR + ES + Euler components) from numpy arrays;
* ``calculate_portfolio_var`` (the compatible facade) from plain Python lists;
* the original pure-Python algorithm (bench/original_var_calculator.py);
* the bare kernel: ``R @ w`` and one ``np.partition`` —

and prints medians and ratios against the targets of the engine issue. Figures, not assertions:
the exit code is 0 unless something crashes.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from original_var_calculator import calculate_portfolio_var as original_portfolio_var
from risk_service.engine import portfolio_var
from risk_service.var_calculator import calculate_portfolio_var

CONFIDENCE = 0.99
BOOKS = [(2, 250), (1_000, 2_500), (10_000, 2_500)]
REPEATS = {2: 50, 1_000: 7, 10_000: 5}
ORIGINAL_REPEATS = {2: 20, 1_000: 3, 10_000: 1}  # the original takes seconds at the largest size


def median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_book(n_pos: int, n_obs: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded long/short book with fat-tailed, correlated returns."""
    rng = np.random.default_rng(n_pos * 7 + n_obs)
    market = rng.standard_t(4, size=(n_obs, 1)) * 0.01
    returns = market * rng.uniform(0.5, 1.5, n_pos) + rng.standard_t(4, size=(n_obs, n_pos)) * 0.01
    weights = rng.normal(0, 1e6, n_pos)
    return weights, np.ascontiguousarray(returns)


def kernel(weights: np.ndarray, returns: np.ndarray) -> float:
    """The irreducible work: one matrix-vector product and one rank selection."""
    losses = -(returns @ weights)
    k = int(np.ceil(round(CONFIDENCE * losses.shape[0], 9))) - 1
    return float(np.partition(losses, k)[k])


def run_book(n_pos: int, n_obs: int) -> tuple[float, float, float, float]:
    """Median times (s) of engine, facade, original and kernel on one seeded book."""
    weights, returns = make_book(n_pos, n_obs)
    symbols = [f"S{i:05d}" for i in range(n_pos)]
    positions = dict(zip(symbols, weights.tolist(), strict=True))
    columns = {s: returns[:, i].tolist() for i, s in enumerate(symbols)}

    fast = portfolio_var(weights, returns, CONFIDENCE)
    assert abs(sum(fast.component.values()) - fast.var) <= 1e-9 * abs(fast.var)
    reps = REPEATS[n_pos]
    return (
        median_seconds(lambda: portfolio_var(weights, returns, CONFIDENCE), reps),
        median_seconds(lambda: calculate_portfolio_var(positions, columns, CONFIDENCE), reps),
        median_seconds(
            lambda: original_portfolio_var(positions, columns, CONFIDENCE),
            ORIGINAL_REPEATS[n_pos],
        ),
        median_seconds(lambda: kernel(weights, returns), reps),
    )


def main() -> None:
    """Run every book and print the table."""
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}, numpy {np.__version__}"
    )
    print(f"confidence {CONFIDENCE}; medians of several runs (ms)\n")
    header = (
        f"{'book N x T':>14} {'engine(arr)':>12} {'facade(list)':>13} {'original':>10}"
        f" {'kernel':>8} {'orig/eng':>9} {'eng/kernel':>11}"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for n_pos, n_obs in BOOKS:
        t_engine, t_facade, t_original, t_kernel = results[n_pos] = run_book(n_pos, n_obs)
        print(
            f"{n_pos:>6,} x {n_obs:<6,} {t_engine * 1e3:>12.3f} {t_facade * 1e3:>13.3f}"
            f" {t_original * 1e3:>10.1f} {t_kernel * 1e3:>8.3f}"
            f" {t_original / t_engine:>8.0f}x {t_engine / t_kernel:>10.2f}x"
        )

    e1k, f1k, o1k, _ = results[1_000]
    e10k, _, _, k10k = results[10_000]
    print("\ntargets:")
    checks = [
        (
            "engine >= 300x the original at 1,000 x 2,500 (arrays)",
            o1k / e1k >= 300,
            f"{o1k / e1k:.0f}x",
        ),
        (
            "engine within 2x of the bare kernel at 10,000 x 2,500",
            e10k / k10k <= 2,
            f"{e10k / k10k:.2f}x",
        ),
        (
            "calculate_portfolio_var <= 100 ms at 1,000 x 2,500 (lists)",
            f1k <= 0.100,
            f"{f1k * 1e3:.1f} ms",
        ),
    ]
    for label, ok, figure in checks:
        print(f"  [{'met' if ok else 'MISSED'}] {label}: {figure}")


if __name__ == "__main__":
    main()
