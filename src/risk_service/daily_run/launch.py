"""The executor a ``daily-run`` asked for, with its progress bar (the CLI's side of executors).

``""`` runs in this process; ``local`` starts a LocalCluster of worker processes on this machine;
``tcp://HOST:PORT`` joins a running Dask scheduler.  Dask is imported only in the last two cases.
The Rich progress bar advances as blocks complete (in-process: as each is computed; on Dask: as
``distributed.as_completed`` reports each task done).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from risk_service.daily_run.executor import Executor, InProcessExecutor

#: A scheduler address: plain TCP inside the cluster's own network (see docs/scale.md).
_ADDRESS = re.compile(r"^tcp://[A-Za-z0-9.\-]+:\d{1,5}$")


def check_scheduler(value: str) -> str:
    """``value`` if it names a scheduler (``local`` or ``tcp://HOST:PORT``), else ValueError."""
    if value == "local" or _ADDRESS.match(value):
        return value
    raise ValueError(f"--scheduler must be 'local' or tcp://HOST:PORT, got {value!r}")


@contextmanager
def open_executor(scheduler: str, console: Console, label: str) -> Iterator[Executor]:
    """The executor for ``scheduler`` (``""``: in-process), reporting to a progress bar."""
    if scheduler:
        check_scheduler(scheduler)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def show(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if not scheduler:
            yield InProcessExecutor(progress=show)
            return
        from risk_service.daily_run import distributed  # noqa: PLC0415 - Dask only when asked

        with distributed.connect(scheduler, progress=show) as executor:
            bar.update(task, description=f"{label} on {executor.workers} Dask worker(s)")
            yield executor


__all__ = ["check_scheduler", "open_executor"]
