"""Production-like upstream deliveries for the demo: prices and positions as CSV files.

In production these files come from upstream systems; the demo makes a seeded, realistic
delivery (correlated sector returns with fat tails, long/short books with trader names — the
personal data that staging's anonymised copy must drop) and loads it with the release's own
``risk-service data load``, exactly as prod would.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskctl.clock import ExchangeCalendar

TRADERS = ("Alice Martin", "Bob Chen", "Carla Diaz", "Deepak Rao", "Eva Novak")


@dataclass(frozen=True)
class Delivery:
    """Paths of one delivery."""

    positions: Path
    market: Path
    sessions: int
    portfolios: int


def sessions_through(end: dt.date, count: int) -> list[dt.date]:
    """The ``count`` NYSE sessions ending at ``end`` (inclusive)."""
    calendar = ExchangeCalendar("XNYS")
    if not calendar.is_session(end):
        raise ValueError(f"{end} is not an NYSE session")
    sessions: list[dt.date] = []
    day = end
    while len(sessions) < count:
        if calendar.is_session(day):
            sessions.append(day)
        day -= dt.timedelta(days=1)
    return sessions[::-1]


def write_delivery(
    out: Path,
    end: dt.date,
    *,
    sessions: int = 520,
    instruments: int = 40,
    portfolios: int = 8,
    seed: int = 7,
    position_dates: int = 2,
) -> Delivery:
    """Write ``positions.csv`` (for the last ``position_dates`` sessions) and ``market.csv``."""
    out.mkdir(parents=True, exist_ok=True)
    dates = sessions_through(end, sessions)
    rng = np.random.default_rng(seed)
    sectors = rng.integers(0, 5, instruments)
    market = rng.standard_t(4, size=(len(dates), 1)) * 0.007
    sector = rng.standard_t(5, size=(len(dates), 5)) * 0.006
    idio = rng.standard_t(5, size=(len(dates), instruments)) * 0.011
    returns = market * rng.uniform(0.6, 1.4, instruments) + sector[:, sectors] + idio
    prices = 100.0 * np.exp(np.cumsum(returns, axis=0))
    symbols = [f"EQ{i:03d}" for i in range(instruments)]

    market_path = out / "market.csv"
    with market_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["business_date", "symbol", "close"])
        for t, day in enumerate(dates):
            for j, sym in enumerate(symbols):
                writer.writerow([day.isoformat(), sym, f"{prices[t, j]:.4f}"])

    positions_path = out / "positions.csv"
    with positions_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["business_date", "portfolio_id", "symbol", "notional", "trader"])
        books = []
        for p in range(portfolios):
            size = int(rng.integers(min(5, instruments), min(15, instruments) + 1))
            held = rng.choice(instruments, size=size, replace=False)
            notionals = np.round(rng.normal(0, 3e6, held.size), -3)
            books.append((f"DESK-{p + 1:02d}", TRADERS[p % len(TRADERS)], held, notionals))
        for day in dates[-position_dates:]:
            for name, trader, held, notionals in books:
                for j, notional in zip(held, notionals, strict=True):
                    writer.writerow([day.isoformat(), name, symbols[j], f"{notional:.0f}", trader])
    return Delivery(positions_path, market_path, len(dates), portfolios)


__all__ = ["TRADERS", "Delivery", "sessions_through", "write_delivery"]
