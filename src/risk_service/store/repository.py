"""Queries and writes the core needs, on an open session (the caller owns the transaction)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from risk_service.store.errors import NotFoundError, StoreError
from risk_service.store.models import (
    ApiToken,
    Instrument,
    MarketDay,
    Position,
    RequestSample,
    Result,
    Run,
    RunAttempt,
    SymbolSet,
)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MarketWindow:
    """Returns of consecutive stored dates: ``matrix[t, j]`` is ``symbols[j]`` on ``dates[t]``."""

    dates: tuple[dt.date, ...]
    symbols: tuple[str, ...]
    matrix: FloatArray

    def column_index(self) -> dict[str, int]:
        """Column of each symbol."""
        return {s: j for j, s in enumerate(self.symbols)}

    def sha256(self) -> str:
        """Content hash of the window (dates, symbols and the packed returns)."""
        digest = hashlib.sha256()
        digest.update(json.dumps([d.isoformat() for d in self.dates]).encode())
        digest.update(json.dumps(list(self.symbols)).encode())
        digest.update(np.ascontiguousarray(self.matrix, dtype="<f8").tobytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class PositionRow:
    """One delivered position."""

    portfolio_id: str
    symbol: str
    notional: float
    trader: str = ""


# --- instruments and market data -------------------------------------------------------------


def upsert_instruments(session: Session, rows: Iterable[tuple[str, str, str]]) -> None:
    """Insert instruments ``(symbol, asset_class, sector)`` not yet known."""
    known = set(session.scalars(select(Instrument.symbol)))
    session.add_all(
        Instrument(symbol=s, asset_class=a, sector=sec) for s, a, sec in rows if s not in known
    )


def _symbol_set_id(session: Session, symbols: Sequence[str]) -> int:
    encoded = json.dumps(list(symbols), separators=(",", ":"))
    digest = hashlib.sha256(encoded.encode()).hexdigest()
    found = session.scalar(select(SymbolSet.id).where(SymbolSet.sha256 == digest))
    if found is not None:
        return found
    row = SymbolSet(sha256=digest, symbols=list(symbols))
    session.add(row)
    session.flush()
    return row.id


def put_market_days(
    session: Session,
    dates: Sequence[dt.date],
    symbols: Sequence[str],
    matrix: FloatArray,
    source: str,
) -> None:
    """Store (replacing) the returns of ``dates``; ``matrix`` is dates x symbols."""
    if matrix.shape != (len(dates), len(symbols)):
        raise StoreError("market data matrix does not match its dates and symbols")
    set_id = _symbol_set_id(session, symbols)
    session.execute(delete(MarketDay).where(MarketDay.business_date.in_(list(dates))))
    now = dt.datetime.now(dt.UTC)
    packed = np.ascontiguousarray(matrix, dtype="<f8")
    session.execute(
        insert(MarketDay),
        [
            {
                "business_date": day,
                "symbol_set_id": set_id,
                "returns": packed[t].tobytes(),
                "source": source,
                "loaded_at": now,
            }
            for t, day in enumerate(dates)
        ],
    )


def market_dates(session: Session, through: dt.date | None = None) -> list[dt.date]:
    """Stored market-data dates (up to ``through``), oldest first."""
    query = select(MarketDay.business_date).order_by(MarketDay.business_date)
    if through is not None:
        query = query.where(MarketDay.business_date <= through)
    return list(session.scalars(query))


def market_data_summary(session: Session) -> tuple[int, dt.date | None, dt.date | None]:
    """Number of stored dates, first and last."""
    count, first, last = session.execute(
        select(
            func.count(MarketDay.business_date),
            func.min(MarketDay.business_date),
            func.max(MarketDay.business_date),
        )
    ).one()
    return int(count), first, last


def load_market_window(
    session: Session, through: dt.date, window: int, symbols: Sequence[str] | None = None
) -> MarketWindow:
    """The last ``window`` stored dates on or before ``through``.

    With ``symbols`` only those columns are returned (in that order); a symbol missing on any
    date raises :class:`NotFoundError`.
    """
    rows = list(
        session.execute(
            select(MarketDay.business_date, MarketDay.symbol_set_id, MarketDay.returns)
            .where(MarketDay.business_date <= through)
            .order_by(MarketDay.business_date.desc())
            .limit(window)
        )
    )
    if not rows:
        raise NotFoundError(f"no market data stored on or before {through.isoformat()}")
    rows.reverse()
    set_ids = {r.symbol_set_id for r in rows}
    sets = {
        s.id: list(s.symbols)
        for s in session.scalars(select(SymbolSet).where(SymbolSet.id.in_(set_ids)))
    }
    dates = tuple(r.business_date for r in rows)
    if len(set_ids) == 1:
        stored = sets[rows[0].symbol_set_id]
        full = np.frombuffer(b"".join(r.returns for r in rows), dtype="<f8").reshape(
            len(rows), len(stored)
        )
        if symbols is None:
            return MarketWindow(dates, tuple(stored), full.astype(np.float64, copy=True))
        index = {s: j for j, s in enumerate(stored)}
        missing = [s for s in symbols if s not in index]
        if missing:
            raise NotFoundError(f"no market data for {_names(missing)}")
        cols = np.fromiter((index[s] for s in symbols), dtype=np.intp, count=len(symbols))
        return MarketWindow(dates, tuple(symbols), full[:, cols].astype(np.float64, copy=True))
    # Symbol sets changed inside the window: align day by day on the requested symbols (or on
    # the symbols present every day).
    wanted = list(symbols) if symbols is not None else _common(sets, rows)
    out = np.empty((len(rows), len(wanted)), dtype=np.float64)
    for t, r in enumerate(rows):
        stored = sets[r.symbol_set_id]
        index = {s: j for j, s in enumerate(stored)}
        missing = [s for s in wanted if s not in index]
        if missing:
            raise NotFoundError(
                f"no market data for {_names(missing)} on {r.business_date.isoformat()}"
            )
        day = np.frombuffer(r.returns, dtype="<f8")
        out[t] = day[[index[s] for s in wanted]]
    return MarketWindow(dates, tuple(wanted), out)


def _common(sets: dict[int, list[str]], rows: Sequence[object]) -> list[str]:
    first = sets[getattr(rows[0], "symbol_set_id")]  # noqa: B009 - Row attribute
    common = set(first)
    for symbols in sets.values():
        common &= set(symbols)
    return [s for s in first if s in common]


def _names(symbols: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(symbols[:limit])
    more = len(symbols) - limit
    return shown + (f" and {more} more" if more > 0 else "")


# --- positions ---------------------------------------------------------------------------------


def replace_positions(session: Session, day: dt.date, rows: Sequence[PositionRow]) -> None:
    """Store ``rows`` as the positions of ``day``, replacing any delivered before."""
    session.execute(delete(Position).where(Position.business_date == day))
    if rows:
        session.execute(
            insert(Position),
            [
                {
                    "business_date": day,
                    "portfolio_id": r.portfolio_id,
                    "symbol": r.symbol,
                    "notional": r.notional,
                    "trader": r.trader,
                }
                for r in rows
            ],
        )


def load_positions(session: Session, day: dt.date) -> list[PositionRow]:
    """Positions of ``day`` ordered by portfolio and symbol."""
    rows = session.execute(
        select(Position.portfolio_id, Position.symbol, Position.notional, Position.trader)
        .where(Position.business_date == day)
        .order_by(Position.portfolio_id, Position.symbol)
    ).all()
    return [PositionRow(r[0], r[1], float(r[2]), r[3]) for r in rows]


def has_positions(session: Session, day: dt.date) -> bool:
    """Whether positions were delivered for ``day``."""
    found = session.scalar(select(Position.portfolio_id).where(Position.business_date == day))
    return found is not None


def positions_sha256(rows: Sequence[PositionRow]) -> str:
    """Content hash of a day's positions."""
    digest = hashlib.sha256()
    for r in rows:
        digest.update(f"{r.portfolio_id}\x1f{r.symbol}\x1f{r.notional!r}\x1e".encode())
    return digest.hexdigest()


# --- runs --------------------------------------------------------------------------------------


def get_run(session: Session, day: dt.date) -> Run | None:
    """The accepted run of ``day``."""
    return session.scalar(select(Run).where(Run.business_date == day))


def run_results(session: Session, run_id: int) -> list[Result]:
    """A run's per-portfolio results, by portfolio id."""
    return list(
        session.scalars(select(Result).where(Result.run_id == run_id).order_by(Result.portfolio_id))
    )


def delete_run(session: Session, day: dt.date) -> None:
    """Remove the run of ``day`` and its results (inside the caller's transaction)."""
    run = get_run(session, day)
    if run is None:
        return
    session.execute(delete(Result).where(Result.run_id == run.id))
    session.execute(delete(Run).where(Run.id == run.id))
    session.flush()


def exceptions_history(session: Session, before: dt.date, days: int) -> dict[str, tuple[int, int]]:
    """Per portfolio, (exceptions, backtested days) over the last ``days`` runs before a date."""
    run_ids = list(
        session.scalars(
            select(Run.id)
            .where(Run.business_date < before)
            .order_by(Run.business_date.desc())
            .limit(days)
        )
    )
    if not run_ids:
        return {}
    out: dict[str, tuple[int, int]] = {}
    rows = session.execute(
        select(Result.portfolio_id, Result.exception).where(
            Result.run_id.in_(run_ids), Result.exception.is_not(None)
        )
    ).all()
    for pid, exc in rows:
        hits, n = out.get(pid, (0, 0))
        out[pid] = (hits + int(bool(exc)), n + 1)
    return out


def add_attempt(session: Session, attempt: RunAttempt) -> None:
    """Record one run attempt."""
    session.add(attempt)


def attempts(session: Session, day: dt.date) -> list[RunAttempt]:
    """Every recorded attempt at ``day``'s run, oldest first."""
    return list(
        session.scalars(
            select(RunAttempt).where(RunAttempt.business_date == day).order_by(RunAttempt.id)
        )
    )


# --- tokens ------------------------------------------------------------------------------------


def active_token(session: Session, token_sha256: str) -> ApiToken | None:
    """The unrevoked token with this hash."""
    return session.scalar(
        select(ApiToken).where(ApiToken.token_sha256 == token_sha256, ApiToken.revoked_at.is_(None))
    )


def active_token_by_name(session: Session, name: str) -> ApiToken | None:
    """The unrevoked token called ``name``."""
    return session.scalar(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    )


# --- request samples ---------------------------------------------------------------------------


def add_request_sample(
    session: Session,
    *,
    method: str,
    path: str,
    body: Mapping[str, Any],
    status: int,
    received_at: dt.datetime,
    keep: int,
) -> None:
    """Record one request and prune the table to the newest ``keep`` ids.

    Rows older than ``newest id - keep`` go, so the table never holds more than ``keep`` rows,
    even with several writers (ids are unique; a gap only means fewer rows are kept).
    """
    session.add(
        RequestSample(
            method=method, path=path, body=dict(body), status=status, received_at=received_at
        )
    )
    session.flush()
    newest = session.scalar(select(func.max(RequestSample.id)))
    if newest is not None:
        session.execute(delete(RequestSample).where(RequestSample.id <= newest - keep))


def recent_request_samples(session: Session, limit: int) -> list[RequestSample]:
    """The newest ``limit`` request samples, newest first."""
    return list(
        session.scalars(select(RequestSample).order_by(RequestSample.id.desc()).limit(limit))
    )
