"""``risk-service``: serve the API, run and schedule the daily run, manage the store and data.

Errors are one-line messages on stderr with a non-zero exit code: 1 failure, 2 usage, 3 refused
(e.g. a date that is not an NYSE session), 4 the Dask scheduler of `daily-run --scheduler` did not
answer.  Heavy imports (the web stack, prometheus-client, Dask) are deferred so that ``serve`` can
enable multiprocess metrics before they load.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from risk_service.auth import Scope
from risk_service.config import Environment, Settings
from risk_service.failclosed import UnsafeSettingsError, check_bind, check_settings
from risk_service.marketdata.errors import DataError
from risk_service.release_files import UNKNOWN, ReleaseMismatchError, check_expected
from risk_service.sessions import CalendarError
from risk_service.store import database
from risk_service.store.environment import (
    can_record,
    record_environment,
    require_environment,
)
from risk_service.store.errors import StoreError

app = typer.Typer(
    name="risk-service",
    help="Value-at-Risk API, daily risk run and their store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (stored only as hashes).", no_args_is_help=True)
data_app = typer.Typer(help="Positions and market data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(data_app, name="data")

out = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _date(value: str, option: str = "--date") -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} must be a date as YYYY-MM-DD, got {value!r}", 2)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn expected failures into one-line messages."""
    try:
        yield
    except CalendarError as exc:
        _fail(str(exc), 3)
    except UnsafeSettingsError as exc:
        _fail(str(exc), 2)
    except (DataError, StoreError, ReleaseMismatchError) as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _fail(f"database error: {first}")


def _engine(settings: Settings) -> Engine:
    check_settings(settings)  # fails closed before any store is touched (finding 9)
    return database.make_engine(settings.resolved_database_url())


def _explicit(settings: Settings) -> bool:
    """Whether the environment was stated (variable or --env), not assumed in a checkout: only
    a stated environment is recorded in a store."""
    return "environment" in settings.model_fields_set


def _ready_store(settings: Settings) -> Engine:
    """The store, migrated (dev migrates itself; staging and prod must run `db upgrade`)."""
    engine = _engine(settings)
    if not database.schema_at_head(engine):
        if settings.environment is not Environment.DEV:
            _fail("the store is not migrated to this release; run `risk-service db upgrade` first")
        fresh = database.current_revision(engine) is None
        database.upgrade(engine)
        if fresh and _explicit(settings):  # created by an explicitly dev process
            record_environment(engine, settings.environment.value)
    return engine


# --- serve -------------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (uvicorn)."""
    settings = Settings()
    with _errors():
        check_expected(settings.artifact_digest)
        check_bind(settings, host)
        require_environment(_ready_store(settings), settings.environment.value)
    own_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    metrics_dir = (
        Path(tempfile.mkdtemp(prefix="risk-service-metrics-"))
        if own_dir
        else Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    )
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    # Must be set before prometheus-client is imported by the app (here or in the workers).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    import uvicorn  # noqa: PLC0415 - imported after the metrics directory is set

    try:
        uvicorn.run(
            "risk_service.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_level=settings.log_level.lower(),
        )
    finally:
        if own_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


# --- daily run and scheduler -------------------------------------------------------------------


def _run_date(
    settings: Settings, business_date: dt.date, quiet: bool = False, scheduler: str | None = None
) -> int:
    from risk_service.daily_run import executor as executors  # noqa: PLC0415
    from risk_service.daily_run import run as daily  # noqa: PLC0415 - keeps `serve` light
    from risk_service.daily_run.launch import check_scheduler, open_executor  # noqa: PLC0415
    from risk_service.marketdata.delivered import DeliveredSource  # noqa: PLC0415
    from risk_service.marketdata.interface import DataSource  # noqa: PLC0415
    from risk_service.marketdata.synthetic import SyntheticSource, SyntheticSpec  # noqa: PLC0415

    source: DataSource = (
        SyntheticSource(
            SyntheticSpec(
                seed=settings.seed,
                instruments=settings.synthetic_instruments,
                portfolios=settings.synthetic_portfolios,
            )
        )
        if settings.environment is Environment.DEV
        else DeliveredSource()
    )
    with _errors():
        found = check_expected(settings.artifact_digest)
    release = daily.Release(
        version=settings.resolved_version(),
        digest=found if found != UNKNOWN else settings.artifact_digest,
        git_sha=settings.git_sha,
    )
    options = daily.RunOptions(
        environment=settings.environment.value,
        window=settings.window,
        move_threshold=settings.move_threshold,
    )
    scheduler = settings.dask_scheduler if scheduler is None else scheduler
    if scheduler:
        try:
            check_scheduler(scheduler)
        except ValueError as exc:
            _fail(str(exc), 2)
    label = f"daily run {business_date.isoformat()} ({settings.environment})"
    with _errors():
        try:
            # The executor first: an unreachable scheduler fails before the store is touched.
            with open_executor(scheduler, err, label) as executor:
                engine = _ready_store(settings)
                require_environment(engine, settings.environment.value)
                factory = database.session_factory(engine)
                report = daily.daily_run(
                    factory,
                    business_date,
                    source=source,
                    release=release,
                    options=options,
                    executor=executor,
                )
        except (daily.RunError, executors.ExecutorError) as exc:
            _fail(f"daily run {business_date.isoformat()} failed: {exc}", exc.exit_code)
    if quiet:
        return 0
    table = Table(title=f"risk run {business_date.isoformat()} ({settings.environment})")
    table.add_column("item")
    table.add_column("value", justify="right")
    table.add_row("portfolios", str(report.portfolios))
    table.add_row("flagged for review", str(report.flagged))
    table.add_row("backtest exceptions", str(report.exceptions))
    table.add_row("replaced earlier run", "yes" if report.replaced else "no")
    table.add_row("computed by", f"{report.executor}, {report.workers} worker(s)")
    table.add_row("deadline (UTC)", report.deadline.isoformat(timespec="minutes"))
    table.add_row("met deadline", "yes" if report.met_deadline else "NO")
    for name, seconds in report.timings.items():
        table.add_row(f"{name} (s)", f"{seconds:.3f}")
    out.print(table)
    return 0


@app.command("daily-run")
def daily_run_command(
    date: Annotated[str, typer.Option("--date", help="Business date, YYYY-MM-DD.")],
    env: Annotated[
        Environment | None,
        typer.Option("--env", help="Environment (default: RISK_SERVICE_ENVIRONMENT or dev)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Compute on Dask: 'local' (a LocalCluster here) or tcp://HOST:PORT "
            "(default: RISK_SERVICE_DASK_SCHEDULER, else in this process).",
        ),
    ] = None,
) -> None:
    """Run one business date's risk: every portfolio's VaR 95/99, ES 97.5 and components."""
    business_date = _date(date)
    settings = Settings()
    if env is not None:
        settings = settings.model_copy(update={"environment": env})
    _run_date(settings, business_date, scheduler=scheduler)


@app.command()
def backtest(
    days: Annotated[int, typer.Option(min=20, max=2500, help="Sessions to replay.")] = 250,
    window: Annotated[
        int, typer.Option(min=100, max=5000, help="Scenario window of each day's forecast.")
    ] = 250,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Last session, YYYY-MM-DD (default: latest).")
    ] = None,
) -> None:
    """Replay the daily model over the last DAYS sessions of the store, as JSON (riskctl's
    model-change judge compares two releases' replays)."""
    from risk_service.daily_run.backtest import BacktestError, replay  # noqa: PLC0415

    day = _date(as_of, "--as-of") if as_of else None
    settings = Settings()
    with _errors():
        factory = database.session_factory(_ready_store(settings))
        try:
            result = replay(factory, days=days, window=window, as_of=day)
        except BacktestError as exc:
            _fail(f"backtest: {exc}")
    release = {
        "version": settings.resolved_version(),
        "git_sha": settings.git_sha,
        "artifact_digest": settings.artifact_digest,
        "environment": settings.environment.value,
    }
    typer.echo(json.dumps({"release": release, **result}))


@app.command()
def scheduler(
    show: Annotated[
        int, typer.Option("--show", min=0, help="Print the next N fire times and exit.")
    ] = 0,
) -> None:
    """Run `daily-run` at 05:00 America/New_York on every NYSE session."""
    from risk_service import scheduler as sched  # noqa: PLC0415

    if show:
        for fire in sched.fire_times(dt.datetime.now(dt.UTC), show):
            out.print(f"{fire.isoformat()}  ({fire.astimezone(dt.UTC).isoformat()})")
        return
    settings = Settings()

    def job(business_date: dt.date) -> None:
        try:
            _run_date(settings, business_date, quiet=True)
        except typer.Exit as exc:
            if exc.exit_code:
                raise RuntimeError(f"daily run exited with {exc.exit_code}") from None

    sched.run_forever(job)  # pragma: no cover - blocks


# --- db ----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = Settings()
    with _errors():
        engine = _engine(settings)
        database.upgrade(engine, revision)
        if can_record(engine) and _explicit(settings):
            record_environment(engine, settings.environment.value)
        out.print(f"store at revision {database.current_revision(engine)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Option(help="Target revision ('base' removes all tables).")],
) -> None:
    """Revert migrations down to REVISION."""
    with _errors():
        engine = _engine(Settings())
        database.downgrade(engine, revision)
        out.print(f"store at revision {database.current_revision(engine) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Print the store's revision and this release's head."""
    with _errors():
        engine = _engine(Settings())
        current = database.current_revision(engine) or "none"
        out.print(f"current {current}, head {database.head_revision()}")


# --- tokens ------------------------------------------------------------------------------------


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="Who or what the token is for.")],
    scope: Annotated[Scope, typer.Option(help="read, compute or admin.")] = Scope.READ,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from risk_service.auth import create_token  # noqa: PLC0415

    with _errors():
        engine = _ready_store(Settings())
        token = create_token(database.session_factory(engine), name, scope)
    # Plain print: the token must be copyable and is shown exactly once.
    typer.echo(token)
    err.print(f"token {name!r} created with scope {scope.value}; it will not be shown again")


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Option(help="Name of the token.")]) -> None:
    """Revoke the active token called NAME."""
    from risk_service.auth import revoke_token  # noqa: PLC0415

    with _errors():
        engine = _ready_store(Settings())
        revoke_token(database.session_factory(engine), name)
    out.print(f"token {name!r} revoked")


# --- data --------------------------------------------------------------------------------------


@data_app.command("generate")
def data_generate(
    date: Annotated[str, typer.Option("--date", help="Business date to cover, YYYY-MM-DD.")],
    window: Annotated[
        int | None, typer.Option(min=2, help="Sessions of returns before the date.")
    ] = None,
    instruments: Annotated[int | None, typer.Option(min=1, help="Universe size.")] = None,
    portfolios: Annotated[int | None, typer.Option(min=1, help="Number of portfolios.")] = None,
) -> None:
    """Write seeded synthetic market data and positions (dev) covering DATE."""
    from risk_service.marketdata.synthetic import SyntheticSpec, generate  # noqa: PLC0415
    from risk_service.sessions import nyse  # noqa: PLC0415

    business_date = _date(date)
    settings = Settings()
    spec = SyntheticSpec(
        seed=settings.seed,
        instruments=instruments or settings.synthetic_instruments,
        portfolios=portfolios or settings.synthetic_portfolios,
    )
    with _errors():
        nyse().require_session(business_date)
        engine = _ready_store(settings)
        with err.status("generating synthetic data"):
            days, rows = generate(
                database.session_factory(engine), spec, business_date, window or settings.window
            )
    out.print(
        f"synthetic data for {business_date.isoformat()}: {days} new market days, "
        f"{rows} new positions"
    )


@data_app.command("load")
def data_load(
    positions: Annotated[
        Path | None, typer.Option(help="Positions file (.csv or .parquet).", dir_okay=False)
    ] = None,
    market: Annotated[
        Path | None, typer.Option(help="Market data file (.csv or .parquet).", dir_okay=False)
    ] = None,
) -> None:
    """Validate and load delivered files, all or nothing."""
    from risk_service.marketdata.files import load  # noqa: PLC0415

    settings = Settings()
    with _errors():
        engine = _ready_store(settings)
        with err.status("validating and loading"):
            days, rows = load(
                database.session_factory(engine), positions, market, source=settings.environment
            )
    out.print(f"loaded {days} market days and {rows} positions")


@data_app.command("anonymize")
def data_anonymize(
    source: Annotated[Path, typer.Argument(help="Production-like positions file.")],
    target: Annotated[Path, typer.Argument(help="Anonymised copy to write.")],
) -> None:
    """Pseudonymise portfolio and trader ids (keyed HMAC) and drop every other column."""
    from risk_service.marketdata.anonymize import anonymize  # noqa: PLC0415

    settings = Settings()
    with _errors():
        rows = anonymize(source, target, settings.anonymize_key)
    out.print(f"wrote {rows} anonymised positions to {target}")
