"""Dev source: seeded synthetic multi-asset returns and long/short portfolios.

Returns follow a factor model with GARCH(1,1) volatility and Student-t innovations, which gives
the fat tails, volatility clustering and correlated sectors of real markets:

    z_i,t = a_i m_t + b_i s_sector(i),t + c_i e_i,t     (a² + b² + c² = 1; t(ν), unit variance)
    h_i,t = ω_i + α h_i,t-1 z²_i,t-1 + β h_i,t-1,        r_i,t = √h_i,t · z_i,t

The path starts at ``origin`` and innovations are drawn in fixed blocks, each from its own
seeded generator, so the return of a given date never depends on which range was asked for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session, sessionmaker

from risk_service.marketdata.errors import MissingDataError
from risk_service.sessions import nyse
from risk_service.store import repository
from risk_service.store.environment import require_synthetic_allowed
from risk_service.store.repository import PositionRow

FloatArray = NDArray[np.float64]

_BLOCK = 256
_NU = 5.0
_ALPHA = 0.08
_BETA = 0.90
# (asset class, share of the universe, annualised volatility, market loading, sector loading)
_CLASSES: tuple[tuple[str, float, float, float, float], ...] = (
    ("equity", 0.60, 0.28, 0.55, 0.45),
    ("rates", 0.15, 0.06, -0.20, 0.60),
    ("fx", 0.10, 0.10, 0.25, 0.35),
    ("credit", 0.10, 0.08, 0.40, 0.50),
    ("commodity", 0.05, 0.30, 0.30, 0.40),
)
_SECTORS = (
    "technology",
    "financials",
    "health",
    "energy",
    "industrials",
    "consumer",
    "utilities",
    "materials",
    "telecom",
    "real-estate",
)


@dataclass(frozen=True)
class SyntheticSpec:
    """What the generator makes; equal specs give identical data."""

    seed: int = 20240601
    instruments: int = 200
    portfolios: int = 20
    origin: dt.date = dt.date(2005, 1, 3)
    min_positions: int = 10
    max_positions: int = 60


@dataclass(frozen=True)
class Universe:
    """The generated instruments and their model parameters."""

    symbols: tuple[str, ...]
    asset_classes: tuple[str, ...]
    sectors: tuple[str, ...]
    sector_index: NDArray[np.intp]
    market_loading: FloatArray
    sector_loading: FloatArray
    idio_loading: FloatArray
    long_run_var: FloatArray


def universe(spec: SyntheticSpec) -> Universe:
    """The instruments of ``spec`` with their factor loadings and long-run variances."""
    rng = np.random.default_rng([spec.seed, 0])
    n = spec.instruments
    shares = np.array([c[1] for c in _CLASSES])
    class_of = np.minimum(
        np.searchsorted(np.cumsum(shares), (np.arange(n) + 0.5) / n), len(_CLASSES) - 1
    )
    sector_index = rng.integers(0, len(_SECTORS), size=n).astype(np.intp)
    vol = np.array([_CLASSES[c][2] for c in class_of]) * rng.uniform(0.7, 1.4, size=n)
    a = np.array([_CLASSES[c][3] for c in class_of]) * rng.uniform(0.8, 1.2, size=n)
    b = np.array([_CLASSES[c][4] for c in class_of]) * rng.uniform(0.8, 1.2, size=n)
    c = np.sqrt(np.clip(1.0 - a**2 - b**2, 0.05, None))
    norm = np.sqrt(a**2 + b**2 + c**2)
    prefixes = {"equity": "EQ", "rates": "IR", "fx": "FX", "credit": "CR", "commodity": "CM"}
    symbols = tuple(f"{prefixes[_CLASSES[k][0]]}{j:05d}" for j, k in enumerate(class_of))
    return Universe(
        symbols=symbols,
        asset_classes=tuple(_CLASSES[k][0] for k in class_of),
        sectors=tuple(_SECTORS[s] for s in sector_index),
        sector_index=sector_index,
        market_loading=a / norm,
        sector_loading=b / norm,
        idio_loading=c / norm,
        long_run_var=(vol / np.sqrt(252.0)) ** 2,
    )


def _t_unit(rng: np.random.Generator, shape: tuple[int, ...]) -> FloatArray:
    draws: FloatArray = rng.standard_t(_NU, size=shape) / np.sqrt(_NU / (_NU - 2.0))
    return draws


def _innovations(spec: SyntheticSpec, u: Universe, block: int) -> FloatArray:
    rng = np.random.default_rng([spec.seed, 1, block])
    market = _t_unit(rng, (_BLOCK, 1))
    sector = _t_unit(rng, (_BLOCK, len(_SECTORS)))
    idio = _t_unit(rng, (_BLOCK, len(u.symbols)))
    z: FloatArray = (
        u.market_loading * market + u.sector_loading * sector[:, u.sector_index]
    ) + u.idio_loading * idio
    return z


@lru_cache(maxsize=4)
def _path(spec: SyntheticSpec, length: int) -> FloatArray:
    """Returns of the first ``length`` sessions from ``spec.origin`` (sessions x instruments)."""
    u = universe(spec)
    out = np.empty((length, len(u.symbols)), dtype=np.float64)
    omega = u.long_run_var * (1.0 - _ALPHA - _BETA)
    h = u.long_run_var.copy()
    z_prev = np.zeros(len(u.symbols))
    for start in range(0, length, _BLOCK):
        z_block = _innovations(spec, u, start // _BLOCK)
        for k in range(min(_BLOCK, length - start)):
            h = omega + _ALPHA * h * z_prev**2 + _BETA * h
            z = z_block[k]
            out[start + k] = np.sqrt(h) * z
            z_prev = z
    return out


def returns(spec: SyntheticSpec, dates: list[dt.date]) -> FloatArray:
    """Synthetic returns of the given sessions (rows in the order of ``dates``)."""
    cal = nyse()
    if not dates:
        return np.empty((0, spec.instruments))
    if min(dates) < spec.origin:
        raise MissingDataError(
            f"synthetic data starts at {spec.origin.isoformat()}; "
            f"{min(dates).isoformat()} is earlier"
        )
    first = cal.next_session(spec.origin)
    index = {d: i for i, d in enumerate(cal.sessions_between(first, max(dates)))}
    missing = [d for d in dates if d not in index]
    if missing:
        raise MissingDataError(f"{missing[0].isoformat()} is not an NYSE session")
    path = _path(spec, len(index))
    return path[[index[d] for d in dates]]


def positions(spec: SyntheticSpec, day: dt.date) -> list[PositionRow]:
    """Long/short books of ``day``: fixed holdings whose notionals drift a little each day.

    Portfolio ``PF0000`` is a zero-net book (its longs and shorts offset exactly).
    """
    u = universe(spec)
    rng = np.random.default_rng([spec.seed, 2])
    drift = np.random.default_rng([spec.seed, 3, day.toordinal()])
    rows: list[PositionRow] = []
    for p in range(spec.portfolios):
        k = int(rng.integers(spec.min_positions, spec.max_positions + 1))
        k = min(k, len(u.symbols))
        picks = np.sort(rng.choice(len(u.symbols), size=k, replace=False))
        size = rng.lognormal(mean=np.log(2e6), sigma=0.8, size=k)
        sign = np.where(rng.random(k) < 0.65, 1.0, -1.0)
        notionals = size * sign * drift.uniform(0.97, 1.03, size=k)
        if p == 0 and k >= 2:
            notionals[-1] = -float(np.sum(notionals[:-1]))
        trader = f"trader-{int(rng.integers(1, 40)):02d}"
        pid = f"PF{p:04d}"
        rows.extend(
            PositionRow(pid, u.symbols[j], round(float(x), 2), trader)
            for j, x in zip(picks, notionals, strict=True)
        )
    if spec.portfolios > 0:
        # The zero-net book must offset exactly after rounding.
        book = [r for r in rows if r.portfolio_id == "PF0000"]
        if len(book) >= 2:
            rest = round(sum(r.notional for r in book[:-1]), 2)
            last = book[-1]
            rows[rows.index(last)] = PositionRow(last.portfolio_id, last.symbol, -rest, last.trader)
    return rows


class SyntheticSource:
    """Dev source: generates whatever the business date needs and is not stored yet."""

    name = "synthetic"

    def __init__(self, spec: SyntheticSpec) -> None:
        self.spec = spec

    def ensure(self, factory: sessionmaker[Session], business_date: dt.date, window: int) -> None:
        """Write positions of ``business_date`` and its ``window`` prior sessions of returns."""
        generate(factory, self.spec, business_date, window)


def generate(
    factory: sessionmaker[Session], spec: SyntheticSpec, business_date: dt.date, window: int
) -> tuple[int, int]:
    """Store synthetic inputs for ``business_date``; returns (dates written, positions written)."""
    needed = nyse().sessions_before(business_date, window)
    u = universe(spec)
    with factory() as session, session.begin():
        require_synthetic_allowed(session)  # never into a staging/prod store (finding 9)
        stored = set(repository.market_dates(session, through=needed[-1]))
        missing = [d for d in needed if d not in stored]
        repository.upsert_instruments(
            session, zip(u.symbols, u.asset_classes, u.sectors, strict=True)
        )
        if missing:
            repository.put_market_days(
                session, missing, u.symbols, returns(spec, missing), source="synthetic"
            )
        written = 0
        if not repository.has_positions(session, business_date):
            rows = positions(spec, business_date)
            repository.replace_positions(session, business_date, rows)
            written = len(rows)
    return len(missing), written
