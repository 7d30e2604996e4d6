"""SQLAlchemy 2 models of the service's store.

Market data is stored one row per business date holding the day's returns for a symbol set as a
packed float64 vector: a 5,000-instrument x 2,500-day history is 12.5 M numbers, which a
row-per-number table cannot load within the daily run's budget, while 2,500 rows of 40 kB load in
well under a second on SQLite and PostgreSQL alike.  Symbol sets are shared between days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Instrument(Base):
    """A tradable instrument of the universe."""

    __tablename__ = "instruments"

    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    asset_class: Mapped[str] = mapped_column(String(32), default="equity")
    sector: Mapped[str] = mapped_column(String(64), default="")


class SymbolSet(Base):
    """An ordered list of symbols, the column order of packed market-data rows."""

    __tablename__ = "symbol_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    symbols: Mapped[list[str]] = mapped_column(JSON)


class MarketDay(Base):
    """One business date's returns (close-to-close) for every symbol of a symbol set."""

    __tablename__ = "market_data"

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    symbol_set_id: Mapped[int] = mapped_column(ForeignKey("symbol_sets.id"))
    returns: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(32))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Position(Base):
    """A portfolio's notional in one instrument at the start of a business date."""

    __tablename__ = "positions"

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    portfolio_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    notional: Mapped[float] = mapped_column(Float)
    trader: Mapped[str] = mapped_column(String(128), default="")


class Run(Base):
    """The accepted daily risk run of a business date (at most one per date)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    business_date: Mapped[dt.date] = mapped_column(Date, unique=True)
    environment: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    release_version: Mapped[str] = mapped_column(String(64))
    release_digest: Mapped[str] = mapped_column(String(128))
    git_sha: Mapped[str] = mapped_column(String(64))
    positions_sha256: Mapped[str] = mapped_column(String(64))
    market_data_sha256: Mapped[str] = mapped_column(String(64))
    window: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    met_deadline: Mapped[bool] = mapped_column(Boolean)
    portfolios: Mapped[int] = mapped_column(Integer)
    flagged: Mapped[int] = mapped_column(Integer)
    validation: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What computed it: "in-process" or "dask", on how many worker processes (migration 0003).
    executor: Mapped[str] = mapped_column(String(16), server_default="in-process")
    workers: Mapped[int] = mapped_column(Integer, server_default="1")


class Result(Base):
    """One portfolio's figures in a run."""

    __tablename__ = "results"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    portfolio_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    var_95: Mapped[float] = mapped_column(Float)
    var_99: Mapped[float] = mapped_column(Float)
    es_975: Mapped[float] = mapped_column(Float)
    gross_notional: Mapped[float] = mapped_column(Float)
    net_notional: Mapped[float] = mapped_column(Float)
    # Euler components by symbol: {"95": {sym: x}, "99": {sym: x}}.
    components: Mapped[dict[str, dict[str, float]]] = mapped_column(JSON)
    previous_var_99: Mapped[float | None] = mapped_column(Float, nullable=True)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str] = mapped_column(String(256), default="")
    # Backtest of the previous session's VaR 99 against the realised P&L of that session.
    realised_pnl: Mapped[float | None] = mapped_column(Float, nullable=True)
    exception: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class RunAttempt(Base):
    """Every attempt at a daily run, successful or not (a failure never replaces results)."""

    __tablename__ = "run_attempts"
    __table_args__ = (Index("ix_run_attempts_date", "business_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    business_date: Mapped[dt.date] = mapped_column(Date)
    environment: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    release_version: Mapped[str] = mapped_column(String(64))
    release_digest: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    met_deadline: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text, default="")


class ApiToken(Base):
    """An API token, stored only as its SHA-256 hash."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_sha256"), Index("ix_api_tokens_name", "name"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Names are reusable after revocation; at most one active token per name (enforced in code).
    name: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(32))
    token_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RequestSample(Base):
    """One recent real request to a calculation endpoint, kept for riskctl's shadow replay.

    A bounded table: each write prunes every row more than ``request_sample_size`` ids older than
    the newest, so it never holds more than that many rows (see ``repository.add_request_sample``).
    """

    __tablename__ = "request_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
