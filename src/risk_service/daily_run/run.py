"""The daily risk run of one business date.

Errors (all end the run with the previous results of that date untouched)::

    RunError
    ├── RunRefusedError        the date is not an NYSE session
    ├── RunInputError          positions or market data missing, stale or inconsistent
    └── ValidationFailedError  the computed output failed validation

Steps: refuse non-sessions; let the environment's source make sure inputs are stored; load the
positions of the date and the ``window`` sessions of returns before it; compute every portfolio
with one matrix product per block of the book (``engine.batch_risk``, mapped by an executor: this
process or a Dask cluster, with the same figures); validate (every portfolio, finite figures,
day-over-day moves, backtest of the previous session's VaR 99 against realised P&L with the Basel
zone over the last 250 days); write the run and all results in one transaction, replacing any
earlier run of the date.  Every attempt, failed or not, is recorded with its deadline status.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from risk_service import engine
from risk_service.daily_run.executor import Executor, InProcessExecutor, PortfolioRisk, RiskSpec
from risk_service.daily_run.frtb import frtb_outputs, load_horizons
from risk_service.marketdata.errors import DataError
from risk_service.marketdata.interface import DataSource
from risk_service.sessions import CalendarError, deadline, nyse
from risk_service.store import repository
from risk_service.store.errors import NotFoundError
from risk_service.store.models import Result, Run, RunAttempt

FloatArray = NDArray[np.float64]

VAR_LEVELS = (0.95, 0.99)
ES_LEVEL = 0.975
BACKTEST_LEVEL = 0.99
BACKTEST_DAYS = 250
_CHUNK = 500

#: Called after each chunk of results is written, inside the transaction (fault injection).
WriteHook = Callable[[Session, int], None]


class RunError(Exception):
    """The run did not produce results."""

    exit_code = 1


class RunRefusedError(RunError):
    """The date is not a business date."""

    exit_code = 3


class RunInputError(RunError):
    """Inputs missing, stale or inconsistent."""


class ValidationFailedError(RunError):
    """The output failed validation."""


@dataclass(frozen=True)
class Release:
    """The release that produces a run."""

    version: str
    digest: str
    git_sha: str


@dataclass(frozen=True)
class RunOptions:
    """Settings of a run."""

    environment: str
    window: int = 500
    move_threshold: float = 0.5


@dataclass(frozen=True)
class RunReport:
    """What a successful run did."""

    business_date: dt.date
    portfolios: int
    flagged: int
    exceptions: int
    started_at: dt.datetime
    finished_at: dt.datetime
    deadline: dt.datetime
    met_deadline: bool
    replaced: bool
    timings: dict[str, float] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    executor: str = "in-process"
    workers: int = 1


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class _Book:
    portfolios: list[str]
    symbols: list[str]
    exposures: FloatArray  # P x N
    positions: list[repository.PositionRow]


def _book(rows: list[repository.PositionRow]) -> _Book:
    portfolios = sorted({r.portfolio_id for r in rows})
    symbols = sorted({r.symbol for r in rows})
    p_index = {p: i for i, p in enumerate(portfolios)}
    s_index = {s: j for j, s in enumerate(symbols)}
    exposures = np.zeros((len(portfolios), len(symbols)))
    rows_i = np.fromiter((p_index[r.portfolio_id] for r in rows), dtype=np.intp, count=len(rows))
    cols_j = np.fromiter((s_index[r.symbol] for r in rows), dtype=np.intp, count=len(rows))
    np.add.at(exposures, (rows_i, cols_j), np.fromiter((r.notional for r in rows), np.float64))
    return _Book(portfolios, symbols, exposures, rows)


def daily_run(
    factory: sessionmaker[Session],
    business_date: dt.date,
    *,
    source: DataSource,
    release: Release,
    options: RunOptions,
    clock: Callable[[], dt.datetime] = _utc_now,
    write_hook: WriteHook | None = None,
    executor: Executor | None = None,
) -> RunReport:
    """Run, validate and store the risk of ``business_date``; see the module docstring.

    ``executor`` computes the portfolios (default: in this process; see ``executor.py``).
    """
    started = clock()
    try:
        nyse().require_session(business_date)
    except CalendarError as exc:
        raise RunRefusedError(str(exc)) from exc
    try:
        return _run(
            factory=factory,
            business_date=business_date,
            source=source,
            release=release,
            options=options,
            clock=clock,
            write_hook=write_hook,
            started=started,
            executor=executor or InProcessExecutor(),
        )
    except Exception as exc:
        finished = clock()
        with factory() as session, session.begin():
            repository.add_attempt(
                session,
                RunAttempt(
                    business_date=business_date,
                    environment=options.environment,
                    status="failed",
                    release_version=release.version,
                    release_digest=release.digest,
                    started_at=started,
                    finished_at=finished,
                    met_deadline=False,
                    message=f"{type(exc).__name__}: {exc}"[:2000],
                ),
            )
        if isinstance(exc, RunError):
            raise
        if isinstance(exc, DataError | NotFoundError | CalendarError | engine.RiskInputError):
            raise RunInputError(str(exc)) from exc
        raise


def _run(
    *,
    factory: sessionmaker[Session],
    business_date: dt.date,
    source: DataSource,
    release: Release,
    options: RunOptions,
    clock: Callable[[], dt.datetime],
    write_hook: WriteHook | None,
    started: dt.datetime,
    executor: Executor,
) -> RunReport:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    source.ensure(factory, business_date, options.window)
    timings["prepare"] = time.perf_counter() - t0
    cal = nyse()
    previous = cal.previous_session(business_date)
    expected_dates = tuple(cal.sessions_before(business_date, options.window))

    t0 = time.perf_counter()
    with factory() as session:
        rows = repository.load_positions(session, business_date)
        if not rows:
            raise RunInputError(f"no positions for {business_date.isoformat()}")
        book = _book(rows)
        market = repository.load_market_window(session, previous, options.window, book.symbols)
        prev_run = repository.get_run(session, previous)
        prev_results = (
            {r.portfolio_id: r.var_99 for r in repository.run_results(session, prev_run.id)}
            if prev_run is not None
            else {}
        )
        prev_rows = repository.load_positions(session, previous) if prev_run is not None else []
        history = repository.exceptions_history(session, business_date, BACKTEST_DAYS - 1)
        horizons = load_horizons(session, book.symbols)  # FRTB liquidity horizons (issue 12)
    timings["load"] = time.perf_counter() - t0

    if market.dates != expected_dates:
        missing = sorted(set(expected_dates) - set(market.dates))
        latest = market.dates[-1].isoformat()
        if missing:
            raise RunInputError(
                f"market data for {business_date.isoformat()} is stale or incomplete: "
                f"{len(missing)} of the {options.window} sessions before it are missing "
                f"(latest stored {latest}, first missing {missing[0].isoformat()})"
            )
        raise RunInputError(  # pragma: no cover - stored dates are always sessions
            f"market data for {business_date.isoformat()} holds non-session dates"
        )

    t0 = time.perf_counter()
    # Overflow shows up as non-finite figures, which validation reports by portfolio.
    with np.errstate(all="ignore"):
        try:
            # The per-portfolio computation, mapped over blocks of the book by the executor.
            spec = RiskSpec(var_levels=VAR_LEVELS, es_level=ES_LEVEL, strict=True)
            risk = executor.risk(book.exposures, market.matrix, spec)
        except engine.RiskInputError as exc:
            raise RunInputError(f"inputs rejected by the engine: {exc}") from exc
        timings["compute"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        realised = _realised_pnl(prev_rows, market.symbols, market.matrix[-1])
        records, validation = _validate(
            book=book,
            risk=risk,
            prev_var=prev_results,
            realised=realised,
            history=history,
            threshold=options.move_threshold,
            previous=previous,
        )
        timings["validate"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        validation["frtb"] = frtb_outputs(  # columns in book order, as batch_risk's
            book.portfolios,
            symbols=book.symbols,
            exposures=book.exposures,
            dates=market.dates,
            matrix=market.matrix,
            horizons=horizons,
        )
    timings["frtb"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    finished_compute = clock()
    due = deadline(business_date)
    with factory() as session, session.begin():
        existing = repository.get_run(session, business_date)
        repository.delete_run(session, business_date)
        run = Run(
            business_date=business_date,
            environment=options.environment,
            status="succeeded",
            release_version=release.version,
            release_digest=release.digest,
            git_sha=release.git_sha,
            positions_sha256=repository.positions_sha256(rows),
            market_data_sha256=market.sha256(),
            window=options.window,
            started_at=started,
            finished_at=finished_compute,
            deadline=due,
            met_deadline=finished_compute <= due,
            portfolios=len(book.portfolios),
            flagged=validation["flagged"],
            validation=validation,
            executor=executor.name,
            workers=executor.workers,
        )
        session.add(run)
        session.flush()
        for start in range(0, len(records), _CHUNK):
            chunk = records[start : start + _CHUNK]
            session.execute(insert(Result), [{**r, "run_id": run.id} for r in chunk])
            if write_hook is not None:
                write_hook(session, start + len(chunk))
        finished = clock()
        run.finished_at = finished
        run.met_deadline = finished <= due
        repository.add_attempt(
            session,
            RunAttempt(
                business_date=business_date,
                environment=options.environment,
                status="succeeded",
                release_version=release.version,
                release_digest=release.digest,
                started_at=started,
                finished_at=finished,
                met_deadline=finished <= due,
                message=f"{len(book.portfolios)} portfolios, {validation['flagged']} flagged",
            ),
        )
    timings["write"] = time.perf_counter() - t0
    return RunReport(
        business_date=business_date,
        portfolios=len(book.portfolios),
        flagged=validation["flagged"],
        exceptions=validation["backtest"]["exceptions"],
        started_at=started,
        finished_at=finished,
        deadline=due,
        met_deadline=finished <= due,
        replaced=existing is not None,
        timings=timings,
        validation=validation,
        executor=run.executor,
        workers=run.workers,
    )


def _realised_pnl(
    prev_rows: list[repository.PositionRow], symbols: tuple[str, ...], last_returns: FloatArray
) -> dict[str, float]:
    """P&L of the previous session's positions over that session's returns, by portfolio."""
    index = {s: j for j, s in enumerate(symbols)}
    out: dict[str, float] = {}
    for r in prev_rows:
        j = index.get(r.symbol)
        if j is None:
            continue  # a position dropped from today's universe cannot be revalued
        out[r.portfolio_id] = out.get(r.portfolio_id, 0.0) + r.notional * float(last_returns[j])
    return out


def _validate(
    *,
    book: _Book,
    risk: PortfolioRisk,
    prev_var: dict[str, float],
    realised: dict[str, float],
    history: dict[str, tuple[int, int]],
    threshold: float,
    previous: dt.date,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-portfolio records for the store and the run's validation summary."""
    var95, var99 = risk.var[0.95], risk.var[0.99]
    comp95, comp99 = risk.component[0.95], risk.component[0.99]
    gross = np.abs(book.exposures).sum(axis=1)
    net = book.exposures.sum(axis=1)
    figures = np.column_stack([var95, var99, risk.es, gross, net])
    bad = [book.portfolios[i] for i in np.flatnonzero(~np.all(np.isfinite(figures), axis=1))]
    bad_components = np.flatnonzero(
        ~(np.all(np.isfinite(comp95), axis=1) & np.all(np.isfinite(comp99), axis=1))
    )
    bad += [book.portfolios[i] for i in bad_components if book.portfolios[i] not in bad]
    if bad:
        raise ValidationFailedError(
            f"non-finite figures for {len(bad)} portfolio(s), e.g. {', '.join(bad[:5])}"
        )
    if len(var99) != len(book.portfolios):  # pragma: no cover - the engine returns one per row
        raise ValidationFailedError("the engine did not return every portfolio")

    held = book.exposures != 0.0
    records: list[dict[str, Any]] = []
    flagged: list[dict[str, Any]] = []
    exceptions: list[str] = []
    zones = {"green": 0, "yellow": 0, "red": 0}
    red: list[str] = []
    for i, pid in enumerate(book.portfolios):
        cols = np.flatnonzero(held[i])
        syms = [book.symbols[j] for j in cols]
        v99 = float(var99[i])
        previous_var = prev_var.get(pid)
        reason = ""
        if previous_var is not None and previous_var != 0.0:
            move = v99 / previous_var - 1.0
            if abs(move) > threshold:
                reason = f"VaR 99 moved {move:+.0%} day over day (threshold {threshold:.0%})"
        elif previous_var == 0.0 and v99 != 0.0:
            reason = "VaR 99 moved from zero"
        if reason:
            flagged.append({"portfolio_id": pid, "reason": reason})
        pnl = realised.get(pid)
        exception: bool | None = None
        if previous_var is not None and pnl is not None:
            exception = -pnl > previous_var
            if exception:
                exceptions.append(pid)
        hits, days = history.get(pid, (0, 0))
        if exception is not None:
            hits, days = hits + int(exception), days + 1
        if days:
            zone = engine.traffic_light(hits, days, BACKTEST_LEVEL)
            zones[zone] += 1
            if zone == "red":
                red.append(pid)
        records.append(
            {
                "portfolio_id": pid,
                "var_95": float(var95[i]),
                "var_99": v99,
                "es_975": float(risk.es[i]),
                "gross_notional": float(gross[i]),
                "net_notional": float(net[i]),
                "components": {
                    "95": dict(zip(syms, comp95[i, cols].tolist(), strict=True)),
                    "99": dict(zip(syms, comp99[i, cols].tolist(), strict=True)),
                },
                "previous_var_99": previous_var,
                "flagged": bool(reason),
                "flag_reason": reason,
                "realised_pnl": pnl if exception is not None else None,
                "exception": exception,
            }
        )
    validation: dict[str, Any] = {
        "portfolios": len(book.portfolios),
        "complete": True,
        "finite": True,
        "flagged": len(flagged),
        "flags": flagged,
        "move_threshold": threshold,
        "backtest": {
            "date": previous.isoformat(),
            "confidence": BACKTEST_LEVEL,
            "tested": sum(1 for r in records if r["exception"] is not None),
            "exceptions": len(exceptions),
            "exception_portfolios": exceptions,
            "window_days": BACKTEST_DAYS,
            "zones": zones,
            "red": red,
        },
    }
    return records, validation
