"""Data sources: the dev generator, prod file loading with validation, staging anonymisation."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from risk_service.marketdata.anonymize import anonymize, pseudonym
from risk_service.marketdata.errors import DeliveryError, MissingDataError
from risk_service.marketdata.files import load, read_market, read_positions
from risk_service.marketdata.synthetic import SyntheticSpec, positions, returns, universe
from risk_service.sessions import nyse
from risk_service.store import repository
from risk_service.store.models import MarketDay, Position

from .conftest import SPEC, Store

DAY = dt.date(2026, 11, 25)


# --- synthetic ---------------------------------------------------------------------------------


def test_synthetic_returns_do_not_depend_on_the_range_asked() -> None:
    """A date's synthetic returns are the same whichever range they were generated with."""
    cal = nyse()
    long = cal.sessions_before(DAY, 300)
    a = returns(SPEC, long)
    b = returns(SPEC, long[-5:])
    np.testing.assert_array_equal(a[-5:], b)
    np.testing.assert_array_equal(returns(SPEC, long[-5:]), b)
    assert not np.array_equal(returns(SyntheticSpec(seed=8, instruments=40), long[-5:]), b)


def test_synthetic_returns_are_fat_tailed_clustered_and_correlated() -> None:
    """Returns show excess kurtosis, volatility clustering and within-sector correlation."""
    spec = SyntheticSpec(seed=11, instruments=60)
    days = nyse().sessions_before(DAY, 2500)
    r = returns(spec, days)
    z = (r - r.mean(axis=0)) / r.std(axis=0)
    kurtosis = float(np.mean(z**4, axis=0).mean())
    sq = z**2 - 1.0
    clustering = float(np.mean(np.sum(sq[1:] * sq[:-1], axis=0) / np.sum(sq * sq, axis=0)))
    corr = np.corrcoef(r.T)
    u = universe(spec)
    same = u.sector_index[:, None] == u.sector_index[None, :]
    off = ~np.eye(len(u.symbols), dtype=bool)
    assert kurtosis > 4.0  # normal: 3
    assert clustering > 0.05  # i.i.d.: 0
    assert corr[same & off].mean() > corr[~same].mean() + 0.05
    assert np.all(np.isfinite(r))


def test_synthetic_books_are_long_short_with_a_zero_net_book() -> None:
    """Books mix longs and shorts; PF0000 nets to exactly zero; positions drift day to day."""
    today = positions(SPEC, DAY)
    tomorrow = positions(SPEC, dt.date(2026, 11, 27))
    zero = [p.notional for p in today if p.portfolio_id == "PF0000"]
    assert round(sum(zero), 2) == 0.0
    assert any(p.notional < 0 for p in today)
    assert any(p.notional > 0 for p in today)
    assert {(p.portfolio_id, p.symbol) for p in today} == {
        (p.portfolio_id, p.symbol) for p in tomorrow
    }
    assert [p.notional for p in today] != [p.notional for p in tomorrow]


def test_synthetic_refuses_dates_before_its_origin_and_non_sessions() -> None:
    """Dates before the origin or outside the session calendar are refused."""
    with pytest.raises(MissingDataError, match="starts at"):
        returns(SPEC, [dt.date(2004, 12, 31)])
    with pytest.raises(MissingDataError, match="not an NYSE session"):
        returns(SPEC, [dt.date(2026, 11, 26)])
    assert returns(SPEC, []).shape == (0, SPEC.instruments)


# --- delivered files ---------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    """Write a CSV file."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def prices(days: list[dt.date], symbols: list[str]) -> list[list[object]]:
    """A complete price file body."""
    rng = np.random.default_rng(5)
    out: list[list[object]] = []
    level = dict.fromkeys(symbols, 100.0)
    for d in days:
        for s in symbols:
            level[s] *= 1 + rng.normal(0, 0.01)
            out.append([d.isoformat(), s, round(level[s], 6)])
    return out


@pytest.fixture
def delivery(tmp_path: Path) -> tuple[Path, Path]:
    """A valid prices file (301 sessions before DAY) and a positions file for DAY."""
    days = nyse().sessions_before(DAY, 301)
    market = write_csv(tmp_path / "market.csv", ["business_date", "symbol", "close"],
                       prices(days, ["AAA", "BBB", "CCC"]))  # fmt: skip
    book = write_csv(
        tmp_path / "positions.csv",
        ["business_date", "portfolio_id", "symbol", "notional", "trader", "trader_email"],
        [
            [DAY.isoformat(), "BOOK-1", "AAA", 1e6, "Alice Smith", "alice@bank.example"],
            [DAY.isoformat(), "BOOK-1", "BBB", -5e5, "Alice Smith", "alice@bank.example"],
            [DAY.isoformat(), "BOOK-2", "CCC", 2e6, "Bob Jones", "bob@bank.example"],
        ],
    )
    return market, book


def test_load_valid_delivery(store: Store, delivery: tuple[Path, Path]) -> None:
    """A valid price file gives n-1 days of returns; positions are stored for their date."""
    market, book = delivery
    days, rows = load(store.factory, book, market)
    assert (days, rows) == (300, 3)
    with store.factory() as session:
        window = repository.load_market_window(session, nyse().previous_session(DAY), 300)
        stored = repository.load_positions(session, DAY)
    assert window.symbols == ("AAA", "BBB", "CCC")
    assert len(stored) == 3
    parsed = read_market(market)
    np.testing.assert_allclose(window.matrix, parsed.matrix)


def test_parquet_delivery_loads_like_csv(store: Store, delivery: tuple[Path, Path]) -> None:
    """Parquet files load the same data as CSV."""
    market, book = delivery
    table = pa.csv.read_csv(market)
    pq.write_table(table, market.with_suffix(".parquet"))
    pq.write_table(pa.csv.read_csv(book), book.with_suffix(".parquet"))
    a = read_market(market)
    b = read_market(market.with_suffix(".parquet"))
    np.testing.assert_array_equal(a.matrix, b.matrix)
    assert read_positions(book.with_suffix(".parquet")).rows == 3


def broken(tmp_path: Path, delivery: tuple[Path, Path], case: str) -> tuple[Path | None, Path]:
    """A delivery with one defect; returns (positions, market)."""
    market, book = delivery
    lines = market.read_text().splitlines()
    if case == "missing column":
        return None, write_csv(tmp_path / "m.csv", ["business_date", "close"], [["2026-01-02", 1]])
    if case == "no value column":
        return None, write_csv(tmp_path / "m.csv", ["business_date", "symbol", "px"],
                               [["2026-01-02", "A", 1]])  # fmt: skip
    if case == "bad number":
        lines[5] = lines[5].rsplit(",", 1)[0] + ",abc"
    elif case == "duplicate":
        lines.append(lines[5])
    elif case == "missing price":
        del lines[7]
    elif case == "null price":
        lines[5] = lines[5].rsplit(",", 1)[0] + ","
    elif case == "negative price":
        lines[5] = lines[5].rsplit(",", 1)[0] + ",-3"
    elif case == "holiday date":
        lines.append("2026-11-26,AAA,100")
    elif case == "gap in sessions":
        lines = [ln for ln in lines if not ln.startswith(lines[30][:10])]
    elif case == "stale":
        lines = [ln for ln in lines if not ln.startswith(lines[-1][:10])]
    elif case == "single date":
        lines = lines[:4]
    elif case == "bad type":
        return None, tmp_path / "m.xlsx"
    elif case == "not found":
        return None, tmp_path / "nope.csv"
    elif case == "empty":
        lines = lines[:1]
    elif case == "duplicate position":
        text = book.read_text().splitlines()
        text.append(text[1])
        bad = tmp_path / "p.csv"
        bad.write_text("\n".join(text) + "\n")
        return bad, market
    elif case == "infinite notional":
        text = book.read_text().splitlines()
        text[1] = text[1].replace("1000000.0", "inf")
        bad = tmp_path / "p.csv"
        bad.write_text("\n".join(text) + "\n")
        return bad, market
    elif case == "position on holiday":
        text = book.read_text().replace(DAY.isoformat(), "2026-11-26")
        bad = tmp_path / "p.csv"
        bad.write_text(text)
        return bad, market
    elif case == "empty symbol":
        text = book.read_text().replace(",CCC,", ", ,")
        bad = tmp_path / "p.csv"
        bad.write_text(text)
        return bad, market
    out = tmp_path / "m.csv"
    out.write_text("\n".join(lines) + "\n")
    return book, out


CASES = {
    "missing column": "missing column",
    "no value column": "needs a close or a return column",
    "bad number": "invalid value 'abc'",
    "duplicate": "duplicate",
    "missing price": "missing price",
    "null price": "missing value",
    "negative price": "close must be positive",
    "holiday date": "not an NYSE session",
    "gap in sessions": "sessions missing between",
    "stale": "stale market data",
    "single date": "at least two dates",
    "bad type": "unsupported file type",
    "not found": "file not found",
    "empty": "no rows",
    "duplicate position": "duplicate position BOOK-1/AAA",
    "infinite notional": "non-finite",
    "position on holiday": "2026-11-26 is not an NYSE session",
    "empty symbol": "empty portfolio_id or symbol",
}


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_delivery_is_refused_and_nothing_is_loaded(
    store: Store, tmp_path: Path, delivery: tuple[Path, Path], case: str
) -> None:
    """Each defect is refused with a clear message and leaves the store untouched."""
    book, market = broken(tmp_path, delivery, case)
    if case == "bad type":
        market.write_text("x")
    with pytest.raises(DeliveryError, match=CASES[case]):
        load(store.factory, book, market)
    with store.factory() as session:
        assert session.scalar(select(func.count()).select_from(MarketDay)) == 0
        assert session.scalar(select(func.count()).select_from(Position)) == 0


def test_load_needs_a_file() -> None:
    """Loading nothing is an error."""
    with pytest.raises(DeliveryError, match="nothing to load"):
        load(None, None, None)  # type: ignore[arg-type]


def test_returns_file_is_accepted(store: Store, tmp_path: Path) -> None:
    """A file of returns (instead of prices) loads one return per date."""
    days = nyse().sessions_before(DAY, 3)
    path = write_csv(
        tmp_path / "r.csv",
        ["business_date", "symbol", "return"],
        [[d.isoformat(), "X", 0.01 * k] for k, d in enumerate(days)],
    )
    assert load(store.factory, None, path) == (3, 0)


# --- anonymisation -----------------------------------------------------------------------------


KEY = "staging-key-0123456789"


def test_anonymize_pseudonymises_ids_and_drops_pii(
    tmp_path: Path, delivery: tuple[Path, Path]
) -> None:
    """Ids become keyed pseudonyms, PII columns vanish, notionals and symbols are kept."""
    _, book = delivery
    target = tmp_path / "anon.csv"
    assert anonymize(book, target, KEY) == 3
    text = target.read_text()
    for secret in ("BOOK-1", "Alice", "alice@bank.example", "Bob", "trader_email"):
        assert secret not in text
    rows = list(csv.DictReader(target.read_text().splitlines()))
    assert rows[0]["portfolio_id"] == pseudonym(KEY.encode(), "PF", "BOOK-1")
    assert rows[0]["portfolio_id"] == rows[1]["portfolio_id"] != rows[2]["portfolio_id"]
    assert [float(r["notional"]) for r in rows] == [1e6, -5e5, 2e6]
    assert [r["symbol"] for r in rows] == ["AAA", "BBB", "CCC"]


def test_anonymize_is_stable_across_files_and_keyed(
    tmp_path: Path, delivery: tuple[Path, Path]
) -> None:
    """The same id maps to the same pseudonym in every file under one key, not under another."""
    _, book = delivery
    anonymize(book, tmp_path / "a.parquet", KEY)
    anonymize(book, tmp_path / "b.csv", KEY)
    anonymize(book, tmp_path / "c.csv", KEY + "-other")
    a = pq.read_table(tmp_path / "a.parquet").column("portfolio_id").to_pylist()
    b = [r["portfolio_id"] for r in csv.DictReader((tmp_path / "b.csv").read_text().splitlines())]
    c = [r["portfolio_id"] for r in csv.DictReader((tmp_path / "c.csv").read_text().splitlines())]
    assert a == b
    assert a != c


def test_anonymize_refuses_a_weak_key_and_unknown_output(
    tmp_path: Path, delivery: tuple[Path, Path]
) -> None:
    """A short key or an unsupported output type is refused."""
    _, book = delivery
    with pytest.raises(DeliveryError, match="at least 16"):
        anonymize(book, tmp_path / "x.csv", "short")
    with pytest.raises(DeliveryError, match="unsupported"):
        anonymize(book, tmp_path / "x.json", KEY)
