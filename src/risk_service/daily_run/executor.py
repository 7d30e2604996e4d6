"""Where the daily run's per-portfolio computation runs: the executor interface.

The run hands an executor the book's exposures (P×N) and the scenario returns (T×N); the
executor cuts the portfolios into blocks with :func:`plan_blocks`, computes each block with
:func:`risk_block` and joins the blocks in book order.  Both the plan and the block function are
shared by every executor and depend on the book alone (never on the number of workers), and each
block runs with one BLAS thread on C-ordered operands (OpenBLAS sums in another order with more
threads or another layout), so the in-process executor here and the Dask one (``distributed.py``)
apply the same floating-point operations to the same operands: their figures are bit-identical,
not merely close (on the same BLAS build and CPU kind).  Parallelism comes from running blocks
side by side (threads here, worker processes on Dask), not from BLAS threads.  Blocks also bound
memory: only the P&L matrices of the blocks under way are alive, not the whole book's.

Errors (raised by executors, beside the engine's own ``RiskInputError``)::

    ExecutorError                 the executor could not compute the run (exit code 1)
    └── SchedulerUnreachableError the Dask scheduler did not answer (exit code 4)
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from risk_service import engine

FloatArray = NDArray[np.float64]

#: Memory one block may use while it is computed (P&L, losses, ranks and two component rows).
BLOCK_BYTES = 64 * 1024 * 1024
#: At least this many blocks when the book allows it, so that up to 16 workers share the work.
MIN_BLOCKS = 16

#: Told (blocks done, blocks in all) after each block: the CLI's progress bar.
Progress = Callable[[int, int], None]


class ExecutorError(Exception):
    """The executor could not compute the run."""

    exit_code = 1


class SchedulerUnreachableError(ExecutorError):
    """The Dask scheduler did not answer."""

    exit_code = 4


@dataclass(frozen=True)
class RiskSpec:
    """What to compute for every portfolio."""

    var_levels: tuple[float, ...]
    es_level: float
    strict: bool = True


@dataclass(frozen=True)
class PortfolioRisk:
    """VaR and Euler components per level and ES of a run of portfolios, in book order."""

    var: dict[float, FloatArray]  # level -> (P,)
    es: FloatArray  # (P,)
    component: dict[float, FloatArray]  # level -> (P, N)

    @classmethod
    def concat(cls, parts: Sequence[PortfolioRisk]) -> PortfolioRisk:
        """The blocks joined in the order given."""
        if not parts:
            raise ValueError("no blocks to join")
        levels = parts[0].var.keys()
        return cls(
            var={c: np.concatenate([p.var[c] for p in parts]) for c in levels},
            es=np.concatenate([p.es for p in parts]),
            component={c: np.concatenate([p.component[c] for p in parts]) for c in levels},
        )


def plan_blocks(portfolios: int, instruments: int, scenarios: int) -> list[slice]:
    """Consecutive portfolio ranges sized from the book: within ``BLOCK_BYTES``, ≥ MIN_BLOCKS."""
    if portfolios < 1:
        raise ValueError("a run needs at least one portfolio")
    # float64 P&L and losses plus int64 ranks per scenario, two component rows per instrument.
    per_portfolio = 8 * (3 * scenarios + 2 * instruments)
    by_memory = max(1, BLOCK_BYTES // per_portfolio)
    count = max(min(portfolios, MIN_BLOCKS), math.ceil(portfolios / by_memory))
    # Near-equal blocks (sizes differ by at most one), so no worker waits on a big last block.
    bounds = [portfolios * i // count for i in range(count + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def risk_block(exposures: FloatArray, returns: FloatArray, spec: RiskSpec) -> PortfolioRisk:
    """One block's figures: the single computation every executor runs (engine.batch_risk)."""
    # BLAS sums in a different order for C- and Fortran-ordered operands, and shipping an array
    # to a worker may change its order (the store hands over a fancy-indexed, non-C matrix): one
    # layout here makes the figures depend on the values alone, wherever the block runs.
    exposures = np.ascontiguousarray(exposures, dtype=np.float64)
    returns = np.ascontiguousarray(returns, dtype=np.float64)
    # Overflow shows up as non-finite figures, which the run's validation reports by portfolio;
    # set here so that it holds in a worker process as well as in this one.
    with np.errstate(all="ignore"), threadpool_limits(limits=1, user_api="blas"):
        risk = engine.batch_risk(
            exposures,
            returns,
            var_levels=spec.var_levels,
            es_level=spec.es_level,
            strict=spec.strict,
        )
    return PortfolioRisk(var=risk.var, es=risk.es, component=risk.component)


def _usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's core count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return os.cpu_count() or 1


class Executor(Protocol):
    """Computes every portfolio's risk; see the module docstring."""

    @property
    def name(self) -> str:
        """``in-process`` or ``dask``: recorded with the run."""

    @property
    def workers(self) -> int:
        """Worker processes that computed the run: recorded with the run."""

    def risk(self, exposures: FloatArray, returns: FloatArray, spec: RiskSpec) -> PortfolioRisk:
        """Every portfolio's figures (rows of ``exposures``), in book order."""


@dataclass(frozen=True)
class InProcessExecutor:
    """The blocks on ``threads`` threads of this process (the default; one per core)."""

    progress: Progress | None = None
    threads: int = field(default_factory=_usable_cores)

    @property
    def name(self) -> str:
        """Always ``in-process``."""
        return "in-process"

    @property
    def workers(self) -> int:
        """Always one: this process."""
        return 1

    def risk(self, exposures: FloatArray, returns: FloatArray, spec: RiskSpec) -> PortfolioRisk:
        """Every block (side by side on the threads: BLAS and numpy release the GIL), joined."""
        blocks = plan_blocks(exposures.shape[0], exposures.shape[1], returns.shape[0])
        returns = np.ascontiguousarray(returns, dtype=np.float64)  # once, not in every block
        # The BLAS limit is process-wide: set it once around all the threads, each block's own
        # (equal) limit then changes nothing while the others run.
        with (
            threadpool_limits(limits=1, user_api="blas"),
            ThreadPoolExecutor(max_workers=self.threads) as pool,
        ):
            futures = [pool.submit(risk_block, exposures[b], returns, spec) for b in blocks]
            for done, future in enumerate(futures, start=1):
                future.result()
                if self.progress is not None:
                    self.progress(done, len(blocks))
        return PortfolioRisk.concat([f.result() for f in futures])


__all__ = [
    "BLOCK_BYTES",
    "MIN_BLOCKS",
    "Executor",
    "ExecutorError",
    "InProcessExecutor",
    "PortfolioRisk",
    "Progress",
    "RiskSpec",
    "SchedulerUnreachableError",
    "plan_blocks",
    "risk_block",
]
