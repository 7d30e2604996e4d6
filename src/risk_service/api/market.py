"""Per-process cache of the stored market data used by ``/v1/portfolio/var``.

The latest window is kept in memory and re-read only when the store changed (checked at most once
per ``ttl`` seconds), so a request costs a column gather, not a database read.  Requests with an
explicit ``as_of`` read the store directly.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from risk_service.api.errors import ApiError
from risk_service.store import repository
from risk_service.store.errors import NotFoundError
from risk_service.store.repository import FloatArray, MarketWindow


@dataclass(frozen=True)
class Scenarios:
    """Returns selected for a request: ``matrix[:, j]`` belongs to ``symbols[j]``."""

    symbols: tuple[str, ...]
    matrix: FloatArray
    as_of: dt.date


class MarketCache:
    """The latest stored window, refreshed when the store changes."""

    def __init__(self, factory: sessionmaker[Session], default_window: int, ttl: float = 5.0):
        self._factory = factory
        self._default_window = default_window
        self._ttl = ttl
        self._lock = threading.Lock()
        self._checked = -float("inf")
        self._stamp: tuple[int, dt.date | None] = (0, None)
        self._window: MarketWindow | None = None
        self._index: dict[str, int] = {}
        # The window symbol by symbol (row j = symbols[j]): a request's columns are then a few
        # contiguous rows, and its matrix comes out column by column (Fortran order), the layout
        # the engine's per-position rank selections are fastest on.
        self._by_symbol: FloatArray = np.empty((0, 0))

    def _latest(self, rows: int) -> tuple[MarketWindow, dict[str, int], FloatArray]:
        """The window with its symbol index and by-symbol copy, all of the same load."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked > self._ttl or self._window is None:
                with self._factory() as session:
                    count, _first, last = repository.market_data_summary(session)
                self._checked = now
                if (count, last) != self._stamp:
                    self._window = None
                    self._stamp = (count, last)
            if self._window is None or len(self._window.dates) < min(rows, self._stamp[0]):
                count, last = self._stamp
                if last is None or count == 0:
                    raise ApiError(
                        422,
                        "no_market_data",
                        "no market data is stored; send returns inline or load market data",
                        "returns",
                    )
                with self._factory() as session:
                    self._window = repository.load_market_window(
                        session, last, max(rows, self._default_window)
                    )
                self._index = self._window.column_index()
                self._by_symbol = np.ascontiguousarray(self._window.matrix.T)
            return self._window, self._index, self._by_symbol

    def fresh(self) -> bool:
        """Whether the latest window is in memory and needs no look at the store just now."""
        return self._window is not None and time.monotonic() - self._checked <= self._ttl

    @property
    def loaded(self) -> bool:
        """Whether a window is in memory."""
        return self._window is not None

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

    def scenarios(self, symbols: list[str], as_of: dt.date | None, window: int | None) -> Scenarios:
        """The last ``window`` days through ``as_of`` (default: latest) for ``symbols``."""
        rows = window or self._default_window
        by_symbol: FloatArray | None = None
        if as_of is None:
            full, index, by_symbol = self._latest(rows)
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
        cols = np.fromiter((index[s] for s in symbols), dtype=np.intp, count=len(symbols))
        take = min(rows, len(full.dates))
        if by_symbol is None:
            by_symbol = full.matrix.T
        return Scenarios(tuple(symbols), by_symbol[cols, -take:].T, full.dates[-1])
