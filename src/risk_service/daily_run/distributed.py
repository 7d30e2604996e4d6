"""The daily run's computation on a Dask cluster (``--scheduler``).

:func:`connect` opens a client on ``tcp://HOST:PORT`` (a running ``dask scheduler``) or, for
``local``, on a ``distributed.LocalCluster`` of worker processes on this machine that it starts and
stops.  :class:`DaskExecutor` runs the shared plan of ``executor.py``: the scenario returns are
scattered once to every worker (so a run survives losing any one of them), one task per block of
exposures runs ``risk_block`` and the results are gathered in book order; the run writes them in
its usual single transaction.  A worker lost mid-run is retried by Dask on another worker (up to its
``distributed.scheduler.allowed-failures``); past that, or if the scheduler goes away, the run
fails with :class:`~risk_service.daily_run.executor.ExecutorError` before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from typing import Any

import dask.config
from dask.utils import parse_timedelta
from distributed import Client, KilledWorker, LocalCluster, as_completed

from risk_service import engine
from risk_service.config import package_version
from risk_service.daily_run.executor import (
    ExecutorError,
    FloatArray,
    PortfolioRisk,
    Progress,
    RiskSpec,
    SchedulerUnreachableError,
    plan_blocks,
    risk_block,
)
from risk_service.daily_run.launch import check_scheduler

BlockTask = Callable[[FloatArray, FloatArray, RiskSpec], PortfolioRisk]


def _release() -> str:
    """The risk-service version installed where this runs (called on every worker)."""
    return package_version()


@dataclass
class DaskExecutor:
    """Runs the blocks as Dask tasks; see the module docstring.

    ``task`` is the block function, replaceable only to inject faults in tests (as the run's
    ``write_hook``); ``timeout`` bounds the wait for the results, in seconds.
    """

    client: Client
    progress: Progress | None = None
    timeout: float | None = None
    task: BlockTask = risk_block
    # Workers connected when the last run was submitted (asked once, not inside the write).
    _workers: int | None = field(default=None, init=False)

    @property
    def name(self) -> str:
        """Always ``dask``."""
        return "dask"

    @property
    def workers(self) -> int:
        """Workers connected when the run was submitted (or now, before any run)."""
        if self._workers is None:
            return len(self.client.scheduler_info(n_workers=-1)["workers"])
        return self._workers

    def risk(self, exposures: FloatArray, returns: FloatArray, spec: RiskSpec) -> PortfolioRisk:
        """Every block as one task, gathered in book order."""
        blocks = plan_blocks(exposures.shape[0], exposures.shape[1], returns.shape[0])
        held: list[Any] = []  # every future of this run, released at the end
        try:
            self._workers = len(self.client.scheduler_info(n_workers=-1)["workers"])
            # Once to every worker: each block needs all the scenarios.
            scattered = self.client.scatter(returns, broadcast=True, hash=False)
            held.append(scattered)
            with warnings.catch_warnings():
                # The blocks ride in the task graph rather than being scattered: the scheduler
                # keeps them, so a block whose worker died is recomputed on another worker
                # (scattered data has no lineage to rebuild it from).
                warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
                futures = [
                    self.client.submit(self.task, exposures[b], scattered, spec, pure=False)
                    for b in blocks
                ]
            held.extend(futures)
            for done, _ in enumerate(as_completed(futures, timeout=self.timeout), start=1):
                if self.progress is not None:
                    self.progress(done, len(blocks))
            results: list[PortfolioRisk] = self.client.gather(futures)
        except engine.RiskInputError:
            raise
        except (KilledWorker, CancelledError) as exc:
            # A lost worker's tasks are retried up to distributed.scheduler.allowed-failures
            # times; when the scenarios' every replica is lost, their tasks are cancelled.
            raise ExecutorError(
                "Dask workers died while computing the run (killed, or over their memory "
                f"limit) and Dask gave up on it: {type(exc).__name__}: {exc}"
            ) from exc
        except Exception as exc:
            raise ExecutorError(
                f"the Dask cluster did not compute the run: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            with contextlib.suppress(Exception):
                self.client.cancel(held, force=True)
        return PortfolioRisk.concat(results)


def _check_workers(client: Client, wait: float) -> None:
    """At least one worker, each with this release installed (same code, same numbers)."""
    try:
        client.wait_for_workers(1, timeout=wait)
    except TimeoutError as exc:
        raise ExecutorError(f"no Dask worker joined the scheduler within {wait:g} s") from exc
    mine = package_version()
    theirs: dict[str, str] = client.run(_release)
    wrong = sorted(f"{w} has {v}" for w, v in theirs.items() if v != mine)
    if wrong:
        raise ExecutorError(
            f"Dask workers run another risk-service release than this one ({mine}): "
            + ", ".join(wrong)
        )


@contextlib.contextmanager
def connect(
    scheduler: str,
    *,
    progress: Progress | None = None,
    connect_timeout: float | None = None,
    local_workers: int | None = None,
    memory_limit: str | int = "auto",
    timeout: float | None = None,
) -> Iterator[DaskExecutor]:
    """A :class:`DaskExecutor` on ``scheduler`` (``local`` starts and stops a LocalCluster)."""
    check_scheduler(scheduler)
    if connect_timeout is None:  # Dask's own setting (DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT)
        connect_timeout = float(
            parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"))
        )
    with contextlib.ExitStack() as stack:
        if scheduler == "local":
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=local_workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    memory_limit=memory_limit,
                    dashboard_address="127.0.0.1:0",  # never a fixed port (8787 may be taken)
                    host="127.0.0.1",
                )
            )
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout=connect_timeout))
            except (OSError, TimeoutError) as exc:
                raise SchedulerUnreachableError(
                    f"cannot reach the Dask scheduler at {scheduler} "
                    f"within {connect_timeout:g} s: {exc}"
                ) from exc
        _check_workers(client, connect_timeout)
        yield DaskExecutor(client, progress=progress, timeout=timeout)


__all__ = ["DaskExecutor", "connect"]
