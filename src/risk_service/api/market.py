"""Per-process cache of the stored market data used by ``/v1/portfolio/var``.

The latest window is kept in memory and re-read only when the store changed (checked at most once
per ``ttl`` seconds), so a request costs a column gather, not a database read; the gathered matrix
of a book (its symbols, in order) is kept too, up to ``BOOKS_KEPT`` books of the loaded window, so
a book asked again costs nothing. Requests with an explicit ``as_of`` read the store directly.

The order statistics the engine's standalone VaR needs (:class:`~risk_service.engine.ColumnRanks`)
depend only on a symbol's returns, the window length and the confidence: they are kept per loaded
window, filled in symbol by symbol as books ask for them, so a request looks them up instead of
selecting ranks in every column of its book.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from risk_service.api.errors import ApiError
from risk_service.engine import ColumnRanks, column_ranks, var_rank_index
from risk_service.store import repository
from risk_service.store.errors import NotFoundError
from risk_service.store.repository import FloatArray, MarketWindow

#: Gathered matrices kept per loaded window (each 8 bytes x days x positions: the bench's
#: 50-position book over 2,500 days is 1 MB), enough for the books a desk asks about all day.
BOOKS_KEPT = 64
#: ... and at most this many bytes of them (a few wide books must not hold gigabytes).
BOOKS_KEPT_BYTES = 256 * 1024 * 1024
#: Order-statistics tables kept per loaded window: one per (window length, VaR rank) asked.
RANK_TABLES_KEPT = 16

IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class Scenarios:
    """Returns selected for a request: ``matrix[:, j]`` belongs to ``symbols[j]``."""

    symbols: tuple[str, ...]
    matrix: FloatArray
    as_of: dt.date
    #: Where the matrix was cut from the cached latest window (its by-symbol copy, and the rows
    #: of ``symbols`` in it), so its order statistics can be looked up; None for other windows.
    source: FloatArray | None = None
    columns: IntArray | None = None


class _RankTable:
    """The order statistics of the last ``take`` days of every symbol of one window at one VaR
    rank, filled in as symbols are asked for (``known``)."""

    def __init__(self, symbols: int, take: int, confidence: float) -> None:
        self.take = take
        self.confidence = confidence
        self.known = np.zeros(symbols, dtype=bool)
        self.low = np.empty(symbols)
        self.high = np.empty(symbols)
        self.minimum = np.empty(symbols)
        self.maximum = np.empty(symbols)
        self.below_top = np.empty(symbols)
        self.above_bottom = np.empty(symbols)
        # (q, symbols): rows of each symbol's extreme returns; q is known at the first fill
        self.top_rows: IntArray = np.zeros((0, symbols), dtype=np.intp)
        self.bottom_rows: IntArray = np.zeros((0, symbols), dtype=np.intp)


@dataclass(frozen=True)
class Loaded:
    """One load of the latest window, with its symbol index and its by-symbol copy (row j =
    ``symbols[j]``): a request's columns are then a few contiguous rows, and its matrix comes out
    column by column (Fortran order), the layout the engine's per-position selections prefer."""

    window: MarketWindow
    index: dict[str, int]
    by_symbol: FloatArray
    checked: float  # time.monotonic() when the store last said this is the latest


class MarketCache:
    """The latest stored window, refreshed when the store changes."""

    def __init__(self, factory: sessionmaker[Session], default_window: int, ttl: float = 5.0):
        self._factory = factory
        self._default_window = default_window
        self._ttl = ttl
        self._lock = threading.Lock()
        self._stamp: tuple[int, dt.date | None] = (0, None)
        self._loaded: Loaded | None = None  # replaced whole, so readers never see a mix
        # Books gathered from one loaded window (``by_symbol`` is its identity: it survives the
        # ttl re-checks); replaced whole when the window changes, so a book never outlives it.
        self._books: tuple[
            FloatArray | None, dict[tuple[tuple[str, ...], int], tuple[FloatArray, IntArray]]
        ] = (None, {})
        self._book_bytes = 0
        # Order statistics per (window length, VaR rank) of one loaded window, like the books.
        self._ranks: tuple[FloatArray | None, dict[tuple[int, int], _RankTable]] = (None, {})
        self._ranks_lock = threading.Lock()

    def _latest(self, rows: int) -> Loaded:
        """The latest window, checked against the store every ``ttl`` seconds."""
        with self._lock:
            now = time.monotonic()
            loaded = self._loaded
            if loaded is None or now - loaded.checked > self._ttl:
                with self._factory() as session:
                    count, _first, last = repository.market_data_summary(session)
                if (count, last) != self._stamp:
                    loaded = None
                    self._stamp = (count, last)
                elif loaded is not None:
                    loaded = replace(loaded, checked=now)
            if loaded is None or len(loaded.window.dates) < min(rows, self._stamp[0]):
                count, last = self._stamp
                if last is None or count == 0:
                    self._loaded = None
                    raise ApiError(
                        422,
                        "no_market_data",
                        "no market data is stored; send returns inline or load market data",
                        "returns",
                    )
                with self._factory() as session:
                    window = repository.load_market_window(
                        session, last, max(rows, self._default_window)
                    )
                loaded = Loaded(
                    window, window.column_index(), np.ascontiguousarray(window.matrix.T), now
                )
            self._loaded = loaded
            return loaded

    def cached(self, rows: int) -> Loaded | None:
        """The latest window if it can serve ``rows`` days from memory right now — checked
        within ``ttl`` and long enough — without the store or the lock; else None."""
        loaded = self._loaded
        if loaded is None or time.monotonic() - loaded.checked > self._ttl:
            return None
        if len(loaded.window.dates) < min(rows, self._stamp[0]):
            return None
        return loaded

    @property
    def loaded(self) -> bool:
        """Whether a window is in memory."""
        return self._loaded is not None

    def warm(self) -> bool:
        """Load the latest window now (at worker start-up), so no request pays for it.

        Returns whether there was a window to load; a store that is not ready yet is not an error
        here (``/readyz`` reports it, and the first request loads the window later).
        """
        try:
            self._latest(self._default_window)
        except (ApiError, SQLAlchemyError):
            return False
        return True

    def scenarios(
        self,
        symbols: list[str],
        as_of: dt.date | None,
        window: int | None,
        *,
        cached: Loaded | None = None,
    ) -> Scenarios:
        """The last ``window`` days through ``as_of`` (default: latest) for ``symbols``;
        ``cached`` (from :meth:`cached`) answers without touching the store."""
        rows = window or self._default_window
        by_symbol: FloatArray | None = None
        if as_of is None:
            loaded = cached or self._latest(rows)
            full, index, by_symbol = loaded.window, loaded.index, loaded.by_symbol
        else:
            try:
                with self._factory() as session:
                    full = repository.load_market_window(session, as_of, rows)
            except NotFoundError as exc:
                raise ApiError(422, "no_market_data", str(exc), "as_of") from exc
            index = full.column_index()
        if window is not None and len(full.dates) < window:
            raise ApiError(
                422,
                "insufficient_market_data",
                f"only {len(full.dates)} business days of market data are stored through "
                f"{full.dates[-1].isoformat()}, {window} requested",
                "window",
            )
        missing = [s for s in symbols if s not in index]
        if missing:
            raise ApiError(
                422,
                "missing_symbol",
                f"No returns data for {missing[0]}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                f"positions.{missing[0]}",
            )
        take = min(rows, len(full.dates))
        key = (tuple(symbols), take)
        if by_symbol is not None:
            source, books = self._books
            if source is not by_symbol:
                books = {}
                self._books = (by_symbol, books)
                self._book_bytes = 0
            kept = books.get(key)
            if kept is not None:
                return Scenarios(key[0], kept[0], full.dates[-1], by_symbol, kept[1])
        cols = np.fromiter((index[s] for s in symbols), dtype=np.intp, count=len(symbols))
        matrix = (full.matrix.T if by_symbol is None else by_symbol)[cols, -take:].T
        if by_symbol is None:
            return Scenarios(key[0], matrix, full.dates[-1])
        matrix.flags.writeable = False  # shared by later requests for the same book
        if len(books) >= BOOKS_KEPT or self._book_bytes + matrix.nbytes > BOOKS_KEPT_BYTES:
            books.clear()
            self._book_bytes = 0
        if matrix.nbytes <= BOOKS_KEPT_BYTES:
            books[key] = (matrix, cols)
            self._book_bytes += matrix.nbytes
        return Scenarios(key[0], matrix, full.dates[-1], by_symbol, cols)

    def ranks(self, scenarios: Scenarios, confidence: float) -> ColumnRanks | None:
        """The engine's :class:`~risk_service.engine.ColumnRanks` of ``scenarios`` (cut from the
        cached window) at ``confidence``; computed for the symbols not asked before, then kept
        until the window is reloaded. None for scenarios read from the store for an ``as_of``."""
        source, cols = scenarios.source, scenarios.columns
        if source is None or cols is None:
            return None
        take = scenarios.matrix.shape[0]
        with self._ranks_lock:
            kept, tables = self._ranks
            if kept is not source:
                tables = {}
                self._ranks = (source, tables)
            rank = var_rank_index(take, confidence)
            table = tables.get((take, rank))
            if table is None:
                if len(tables) >= RANK_TABLES_KEPT:
                    tables.clear()
                table = tables[(take, rank)] = _RankTable(source.shape[0], take, confidence)
            missing = cols[~table.known[cols]]
            if missing.size:
                missing = np.unique(missing)
                found = column_ranks(source[missing, -take:].T, confidence)
                table.low[missing] = found.low
                table.high[missing] = found.high
                table.minimum[missing] = found.minimum
                table.maximum[missing] = found.maximum
                table.below_top[missing] = found.below_top
                table.above_bottom[missing] = found.above_bottom
                q = found.top_rows.shape[0]  # the same for every fill of one window length
                if table.top_rows.shape[0] != q:
                    table.top_rows = np.zeros((q, source.shape[0]), dtype=np.intp)
                    table.bottom_rows = np.zeros((q, source.shape[0]), dtype=np.intp)
                table.top_rows[:, missing] = found.top_rows
                table.bottom_rows[:, missing] = found.bottom_rows
                table.known[missing] = True
            return ColumnRanks(
                observations=take,
                confidence=confidence,
                rank=rank,
                low=table.low[cols],
                high=table.high[cols],
                minimum=table.minimum[cols],
                maximum=table.maximum[cols],
                top_rows=table.top_rows[:, cols],
                bottom_rows=table.bottom_rows[:, cols],
                below_top=table.below_top[cols],
                above_bottom=table.above_bottom[cols],
            )
