"""Staging's copy of production-like positions: pseudonymised ids, no PII, same risk profile.

Portfolio and trader ids are replaced by a keyed HMAC-SHA256 of the original (stable across days
and files for one key, not reversible without it).  Only the columns a risk run needs are kept, so
names, e-mails, accounts or comments in a delivery never reach staging.  Symbols, dates and
notionals are kept unchanged: they carry the risk profile and are not personal data.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from risk_service.marketdata.errors import DeliveryError
from risk_service.marketdata.files import POSITION_COLUMNS, read_table

KEPT_COLUMNS = ("business_date", "portfolio_id", "symbol", "notional", "trader")
MIN_KEY_LENGTH = 16


def pseudonym(key: bytes, prefix: str, value: str) -> str:
    """Stable pseudonym of ``value`` under ``key``."""
    mac = hmac.new(key, f"{prefix}\x1f{value}".encode(), hashlib.sha256).hexdigest()
    return f"{prefix}-{mac[:16]}"


def anonymize(source: Path, target: Path, key: str) -> int:
    """Write the anonymised copy of positions file ``source`` to ``target``; returns its rows."""
    if len(key) < MIN_KEY_LENGTH:
        raise DeliveryError(
            f"the anonymisation key must be at least {MIN_KEY_LENGTH} characters "
            "(set RISK_SERVICE_ANONYMIZE_KEY)"
        )
    secret = key.encode()
    table = read_table(source, dict(POSITION_COLUMNS))
    pids = [pseudonym(secret, "PF", str(p)) for p in table.column("portfolio_id").to_pylist()]
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "business_date": table.column("business_date"),
        "portfolio_id": pa.array(pids, pa.string()),
        "symbol": table.column("symbol"),
        "notional": table.column("notional"),
    }
    if "trader" in table.column_names:
        columns["trader"] = pa.array(
            [
                "" if t is None else pseudonym(secret, "TR", str(t))
                for t in table.column("trader").to_pylist()
            ],
            pa.string(),
        )
    out = pa.table(columns)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix.lower()
    if suffix == ".parquet":
        pq.write_table(out, target)
    elif suffix == ".csv":
        pa_csv.write_csv(out, target)
    else:
        raise DeliveryError(f"{target.name}: unsupported file type (use .csv or .parquet)")
    return int(out.num_rows)
