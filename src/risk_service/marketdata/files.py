"""Prod (and staging) ingestion of delivered CSV/Parquet files with validation.

Positions files have columns ``business_date, portfolio_id, symbol, notional`` (optional
``trader``).  Market files have ``business_date, symbol`` and either ``close`` (prices; a file of
n dates yields n-1 days of returns) or ``return``.  A file is validated whole (schema, types,
missing values, duplicates, missing prices, non-sessions, stale dates) before anything is written,
and both files are written in one transaction, so a delivery is loaded entirely or not at all.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from numpy.typing import NDArray
from sqlalchemy.orm import Session, sessionmaker

from risk_service.marketdata.errors import DeliveryError
from risk_service.sessions import CalendarError, nyse
from risk_service.store import repository
from risk_service.store.repository import PositionRow

FloatArray = NDArray[np.float64]

POSITION_COLUMNS = {
    "business_date": pa.date32(),
    "portfolio_id": pa.string(),
    "symbol": pa.string(),
    "notional": pa.float64(),
}
MARKET_KEYS = {"business_date": pa.date32(), "symbol": pa.string()}


@dataclass(frozen=True)
class MarketDelivery:
    """Validated returns: ``matrix[t, j]`` is ``symbols[j]`` on ``dates[t]``."""

    dates: list[dt.date]
    symbols: list[str]
    matrix: FloatArray


@dataclass(frozen=True)
class PositionsDelivery:
    """Validated positions by business date."""

    by_date: dict[dt.date, list[PositionRow]]

    @property
    def rows(self) -> int:
        """Number of positions in the delivery."""
        return sum(len(v) for v in self.by_date.values())


def read_table(path: Path, columns: dict[str, pa.DataType]) -> pa.Table:
    """Read a CSV or Parquet file, casting known columns to their types."""
    if not path.is_file():
        raise DeliveryError(f"{path.name}: file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            table = pq.read_table(path)
        elif suffix == ".csv":
            table = pa_csv.read_csv(
                path,
                convert_options=pa_csv.ConvertOptions(
                    column_types=columns, strings_can_be_null=True
                ),
            )
        else:
            raise DeliveryError(f"{path.name}: unsupported file type (use .csv or .parquet)")
    except (pa.ArrowInvalid, OSError) as exc:
        raise DeliveryError(f"{path.name}: {_arrow_message(exc)}") from exc
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DeliveryError(f"{path.name}: missing column(s) {', '.join(missing)}")
    for name, kind in columns.items():
        column = table.column(name)
        if column.type != kind:
            try:
                table = table.set_column(
                    table.column_names.index(name), name, pc.cast(column, kind)
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise DeliveryError(
                    f"{path.name}: column {name} is not of type {kind}: {_arrow_message(exc)}"
                ) from exc
        nulls = table.column(name).null_count
        if nulls:
            first = int(
                np.flatnonzero(table.column(name).is_null().to_numpy(zero_copy_only=False))[0]
            )
            raise DeliveryError(
                f"{path.name}: column {name} has {nulls} missing value(s), first at data row "
                f"{first + 1}"
            )
    if table.num_rows == 0:
        raise DeliveryError(f"{path.name}: no rows")
    return table


def _arrow_message(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _check_sessions(name: str, dates: list[dt.date]) -> None:
    cal = nyse()
    for day in dates:
        try:
            session_day = cal.is_session(day)
        except CalendarError as exc:
            raise DeliveryError(f"{name}: {exc}") from exc
        if not session_day:
            raise DeliveryError(f"{name}: {day.isoformat()} is not an NYSE session")


def _finite(name: str, column: str, values: FloatArray, labels: list[str]) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DeliveryError(
            f"{name}: column {column} has {bad.size} non-finite value(s), first {labels[bad[0]]}"
        )


def read_positions(path: Path) -> PositionsDelivery:
    """Parse and validate a positions file."""
    columns = dict(POSITION_COLUMNS)
    table = read_table(path, columns)
    has_trader = "trader" in table.column_names
    dates = table.column("business_date").to_pylist()
    pids = [str(x) for x in table.column("portfolio_id").to_pylist()]
    syms = [str(x) for x in table.column("symbol").to_pylist()]
    notionals = table.column("notional").to_numpy().astype(np.float64)
    traders = (
        ["" if t is None else str(t) for t in table.column("trader").to_pylist()]
        if has_trader
        else [""] * len(pids)
    )
    _finite(path.name, "notional", notionals, [f"at data row {i + 1}" for i in range(len(pids))])
    for i, (pid, sym) in enumerate(zip(pids, syms, strict=True)):
        if not pid.strip() or not sym.strip():
            raise DeliveryError(f"{path.name}: empty portfolio_id or symbol at data row {i + 1}")
    seen: set[tuple[dt.date, str, str]] = set()
    by_date: dict[dt.date, list[PositionRow]] = {}
    for i in range(len(pids)):
        key = (dates[i], pids[i], syms[i])
        if key in seen:
            raise DeliveryError(
                f"{path.name}: duplicate position {pids[i]}/{syms[i]} on "
                f"{dates[i].isoformat()} (data row {i + 1})"
            )
        seen.add(key)
        by_date.setdefault(dates[i], []).append(
            PositionRow(pids[i], syms[i], float(notionals[i]), traders[i])
        )
    _check_sessions(path.name, sorted(by_date))
    return PositionsDelivery(by_date)


def read_market(path: Path) -> MarketDelivery:
    """Parse and validate a market-data file into a complete dates x symbols matrix."""
    probe = read_table(path, dict(MARKET_KEYS))
    if "close" in probe.column_names:
        value_column = "close"
    elif "return" in probe.column_names:
        value_column = "return"
    else:
        raise DeliveryError(f"{path.name}: needs a close or a return column")
    table = read_table(path, {**MARKET_KEYS, value_column: pa.float64()})
    raw_dates = table.column("business_date").to_numpy(zero_copy_only=False)
    raw_syms = np.asarray(table.column("symbol").to_pylist(), dtype=object)
    values = table.column(value_column).to_numpy().astype(np.float64)
    _finite(path.name, value_column, values, [f"at data row {i + 1}" for i in range(len(values))])
    if value_column == "close" and np.any(values <= 0):
        i = int(np.flatnonzero(values <= 0)[0])
        raise DeliveryError(f"{path.name}: close must be positive (data row {i + 1})")
    dates_u, d_idx = np.unique(raw_dates, return_inverse=True)
    syms_u, s_idx = np.unique(raw_syms, return_inverse=True)
    dates = [_as_date(d) for d in dates_u]
    _check_sessions(path.name, dates)
    key = d_idx.astype(np.int64) * len(syms_u) + s_idx
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    if np.any(counts > 1):
        i = int(first[np.flatnonzero(counts > 1)[0]])
        raise DeliveryError(
            f"{path.name}: duplicate {raw_syms[i]} on {_as_date(raw_dates[i]).isoformat()}"
        )
    matrix = np.full((len(dates_u), len(syms_u)), np.nan)
    matrix[d_idx, s_idx] = values
    holes = np.argwhere(np.isnan(matrix))
    if holes.size:
        t, j = holes[0]
        what = "price" if value_column == "close" else "return"
        raise DeliveryError(
            f"{path.name}: missing {what} for {syms_u[j]} on {_as_date(dates_u[t]).isoformat()}"
            + (f" ({len(holes) - 1} more gap(s))" if len(holes) > 1 else "")
        )
    cal = nyse()
    for prev, cur in itertools.pairwise(dates):
        if cal.next_session(prev + dt.timedelta(days=1)) != cur:
            raise DeliveryError(
                f"{path.name}: sessions missing between {prev.isoformat()} and {cur.isoformat()}"
            )
    if value_column == "close":
        if len(dates) < 2:
            raise DeliveryError(f"{path.name}: prices need at least two dates to give returns")
        matrix = matrix[1:] / matrix[:-1] - 1.0
        dates = dates[1:]
    return MarketDelivery(dates, [str(s) for s in syms_u], matrix)


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def load(
    factory: sessionmaker[Session],
    positions_path: Path | None,
    market_path: Path | None,
    source: str = "delivered",
) -> tuple[int, int]:
    """Validate then store the delivery in one transaction; returns (market dates, positions)."""
    if positions_path is None and market_path is None:
        raise DeliveryError("nothing to load: give a positions file, a market file or both")
    market = read_market(market_path) if market_path is not None else None
    positions = read_positions(positions_path) if positions_path is not None else None
    with factory() as session, session.begin():
        if market is not None:
            repository.put_market_days(
                session, market.dates, market.symbols, market.matrix, source=source
            )
        if positions is not None:
            _check_fresh(session, positions, positions_path)
            for day, rows in sorted(positions.by_date.items()):
                repository.replace_positions(session, day, rows)
    return (len(market.dates) if market else 0, positions.rows if positions else 0)


def _check_fresh(session: Session, positions: PositionsDelivery, path: Path | None) -> None:
    """Refuse positions whose market data (stored or in this delivery) is stale."""
    name = path.name if path is not None else "positions"
    stored = repository.market_dates(session)
    latest = stored[-1] if stored else None
    for day in sorted(positions.by_date):
        needed = nyse().previous_session(day)
        if latest is None or latest < needed:
            have = latest.isoformat() if latest else "none"
            raise DeliveryError(
                f"{name}: stale market data for positions of {day.isoformat()}: returns through "
                f"{needed.isoformat()} are needed, the latest stored is {have}"
            )
