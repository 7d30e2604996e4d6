"""The daily run on a real Dask LocalCluster (2 worker processes): same numbers, lost workers,
an unreachable scheduler."""

from __future__ import annotations

import datetime as dt
import functools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dask.config
import pytest
from distributed import Client, LocalCluster
from sqlalchemy import select
from typer.testing import CliRunner

from risk_service.cli import app
from risk_service.daily_run import daily_run
from risk_service.daily_run.distributed import DaskExecutor, connect
from risk_service.daily_run.executor import (
    ExecutorError,
    FloatArray,
    PortfolioRisk,
    RiskSpec,
    plan_blocks,
    risk_block,
)
from risk_service.store import database, repository
from risk_service.store.models import Run

from .conftest import RELEASE, SPEC, Store, free_port, options, source

pytestmark = pytest.mark.integration

DAY = dt.date(2026, 11, 25)
#: Seconds any one Dask run of these tests may take before it is a failure, not a hang.
RUN_TIMEOUT = 120.0


def _cluster(**config: object) -> tuple[LocalCluster, Client]:
    """A LocalCluster of 2 worker processes on 127.0.0.1 (1 thread each) and its client."""
    with dask.config.set(config):
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",  # never a fixed port (8787 may be taken)
            host="127.0.0.1",
        )
    return cluster, Client(cluster)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """One 2-worker LocalCluster shared by the module's tests."""
    cluster, c = _cluster()
    yield c
    c.close()
    cluster.close()


def stored(store: Store, day: dt.date = DAY) -> tuple[Run, dict[str, tuple[object, ...]]]:
    """The run of ``day`` and its figures by portfolio, exactly as stored."""
    with store.factory() as session:
        found = repository.get_run(session, day)
        assert found is not None
        figures = {
            r.portfolio_id: (r.var_95, r.var_99, r.es_975, r.components)
            for r in repository.run_results(session, found.id)
        }
        return found, figures


def run(store: Store, executor: object | None = None) -> None:
    """The test book's run of DAY with ``executor`` (None: in-process)."""
    daily_run(
        store.factory,
        DAY,
        source=source(),
        release=RELEASE,
        options=options(),
        executor=executor,  # type: ignore[arg-type]
    )


def _kill_worker_once(
    flag: str, exposures: FloatArray, returns: FloatArray, spec: RiskSpec
) -> PortfolioRisk:
    """The block task, except that the first worker to claim ``flag`` dies (SIGKILL) on it."""
    try:
        os.unlink(flag)  # atomic: exactly one task wins the flag
    except FileNotFoundError:
        return risk_block(exposures, returns, spec)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable: the worker was killed")  # pragma: no cover


def _kill_worker_always(
    exposures: FloatArray, returns: FloatArray, spec: RiskSpec
) -> PortfolioRisk:
    """A block task that kills every worker that runs it."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable: the worker was killed")  # pragma: no cover


def test_dask_run_stores_the_in_process_figures_bit_for_bit(store: Store, client: Client) -> None:
    """On 2 Dask workers every VaR, ES and component equals the in-process run's, to the bit."""
    assert len(plan_blocks(SPEC.portfolios, SPEC.instruments, 250)) > 1  # really split
    run(store)
    in_process, expected = stored(store)
    assert (in_process.executor, in_process.workers) == ("in-process", 1)
    seen: list[tuple[int, int]] = []
    executor = DaskExecutor(client, progress=lambda d, t: seen.append((d, t)), timeout=RUN_TIMEOUT)
    run(store, executor)
    on_dask, figures = stored(store)
    assert figures == expected  # float ==, not a tolerance: same blocks, same operations
    assert (on_dask.executor, on_dask.workers) == ("dask", 2)
    total = len(plan_blocks(SPEC.portfolios, SPEC.instruments, 250))
    assert seen == [(i, total) for i in range(1, total + 1)]


def test_a_worker_killed_mid_run_is_retried_with_identical_numbers(
    store: Store, client: Client, tmp_path: Path
) -> None:
    """A worker process SIGKILLed inside a block is replaced; its block reruns, numbers equal."""
    run(store)
    _, expected = stored(store)
    pids_before = set(client.run(os.getpid).values())
    flag = tmp_path / "kill-one-worker"
    flag.touch()
    task = functools.partial(_kill_worker_once, str(flag))
    run(store, DaskExecutor(client, timeout=RUN_TIMEOUT, task=task))
    assert not flag.exists()  # a worker did claim it, and died
    _, figures = stored(store)
    assert figures == expected
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
    assert set(client.run(os.getpid).values()) != pids_before


def test_workers_that_keep_dying_fail_the_run_and_keep_the_old_results(store: Store) -> None:
    """Past Dask's allowed failures the run fails cleanly: previous results intact, attempt kept."""
    run(store)
    before_run, before = stored(store)
    cluster, c = _cluster(**{"distributed.scheduler.allowed-failures": 1})
    try:
        with pytest.raises(ExecutorError, match="Dask workers died while computing the run"):
            run(store, DaskExecutor(c, timeout=RUN_TIMEOUT, task=_kill_worker_always))
    finally:
        c.close()
        cluster.close()
    after_run, after = stored(store)
    assert after == before
    assert after_run.id == before_run.id
    with store.factory() as session:
        attempts = repository.attempts(session, DAY)
        assert [a.status for a in attempts] == ["succeeded", "failed"]
        assert "Dask workers died" in attempts[-1].message
        assert session.scalar(select(Run.executor)) == "in-process"


def _risk_service(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed ``risk-service`` command, run as a user would."""
    command = Path(sys.executable).with_name("risk-service")
    return subprocess.run(
        [str(command), *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment of a dev CLI on a private SQLite store (nothing from the caller's)."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("RISK_SERVICE_", "DASK_"))}
    return {
        **keep,
        "RISK_SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "RISK_SERVICE_WINDOW": "250",
        "RISK_SERVICE_SYNTHETIC_INSTRUMENTS": "30",
        "RISK_SERVICE_SYNTHETIC_PORTFOLIOS": "4",
    }


def test_unreachable_scheduler_exits_4_with_a_message_and_writes_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A scheduler nobody listens on: one-line error, exit 4, no traceback, no run stored."""
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**cli_env, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    done = _risk_service("daily-run", "--date", DAY.isoformat(), "--scheduler", address, env=env)
    assert done.returncode == 4, done.stderr
    assert f"cannot reach the Dask scheduler at {address}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    # Refused before the store was even opened.
    assert not Path(cli_env["RISK_SERVICE_DATABASE_URL"].removeprefix("sqlite:///")).exists()


def test_the_environment_variable_names_the_scheduler_too(cli_env: dict[str, str]) -> None:
    """RISK_SERVICE_DASK_SCHEDULER is the same setting as --scheduler (here: unreachable, 4)."""
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**cli_env, "RISK_SERVICE_DASK_SCHEDULER": address}
    # Dask read its environment when first imported: set its connect timeout directly.
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        done = CliRunner().invoke(app, ["daily-run", "--date", DAY.isoformat()], env=env)
    assert done.exit_code == 4, done.output
    assert f"cannot reach the Dask scheduler at {address} within 1 s" in done.output


def test_a_malformed_scheduler_is_a_usage_error(cli_env: dict[str, str]) -> None:
    """`--scheduler` other than local or tcp://HOST:PORT exits 2 before touching anything."""
    args = ["daily-run", "--date", DAY.isoformat(), "--scheduler", "http://x:1"]
    done = CliRunner().invoke(app, args, env=cli_env)
    assert done.exit_code == 2
    assert "--scheduler must be 'local' or tcp://HOST:PORT" in done.output
    assert not Path(cli_env["RISK_SERVICE_DATABASE_URL"].removeprefix("sqlite:///")).exists()


def test_scheduler_local_runs_on_a_local_cluster_and_says_so(cli_env: dict[str, str]) -> None:
    """`--scheduler local` computes on a LocalCluster of processes and records the executor."""
    args = ["daily-run", "--date", DAY.isoformat(), "--scheduler", "local"]
    done = CliRunner().invoke(app, args, env=cli_env)
    assert done.exit_code == 0, done.output
    assert f"dask, {os.cpu_count()} worker(s)" in done.output
    engine = database.make_engine(cli_env["RISK_SERVICE_DATABASE_URL"])
    with database.session_factory(engine)() as session:
        found = repository.get_run(session, DAY)
        assert found is not None
        assert (found.executor, found.workers) == ("dask", os.cpu_count())
    engine.dispose()


def test_a_scheduler_without_workers_is_refused_not_waited_on_forever() -> None:
    """connect() to a scheduler no worker joined fails with ExecutorError within its timeout."""
    with (
        LocalCluster(
            n_workers=0, processes=True, dashboard_address="127.0.0.1:0", host="127.0.0.1"
        ) as empty,
        pytest.raises(ExecutorError, match="no Dask worker joined the scheduler within 2 s"),
        connect(empty.scheduler_address, connect_timeout=2),
    ):
        pass  # pragma: no cover - connect refuses before yielding
