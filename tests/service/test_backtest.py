"""`risk-service backtest`: the daily model replayed over the store, as the model-change judge
reads it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from risk_service import engine
from risk_service.cli import app
from risk_service.daily_run.backtest import BacktestError, replay
from risk_service.store import database, repository

DAY = "2026-11-25"


class Cli:
    """Invokes the CLI with a private dev store."""

    def __init__(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{tmp_path / 'bt.db'}"
        self.env = {
            "RISK_SERVICE_DATABASE_URL": self.url,
            "RISK_SERVICE_SYNTHETIC_INSTRUMENTS": "30",
            "RISK_SERVICE_SYNTHETIC_PORTFOLIOS": "4",
        }

    def __call__(self, *args: str) -> Result:
        """Run ``risk-service ARGS``."""
        return CliRunner().invoke(app, list(args), env=self.env)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A CLI bound to a fresh store holding 400 sessions of synthetic data through DAY."""
    c = Cli(tmp_path)
    done = c("data", "generate", "--date", DAY, "--window", "400")
    assert done.exit_code == 0, done.output
    return c


def test_backtest_counts_exceptions_like_a_slow_day_by_day_replay(cli: Cli) -> None:
    """The bank book's exceptions and zone equal a day-by-day replay with historical_var on the
    bank P&L (independent of batch_risk); every desk is reported with its statistics."""
    result = cli("backtest", "--days", "120", "--window", "250")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["days"], body["window"]) == (120, 250)
    assert body["release"]["environment"] == "dev"
    store = database.make_engine(cli.url)
    with database.session_factory(store)() as session:
        rows = repository.load_positions(session, dt.date.fromisoformat(body["positions_date"]))
        symbols = sorted({r.symbol for r in rows})
        market = repository.load_market_window(
            session, dt.date.fromisoformat(body["as_of"]), 370, symbols
        )
    store.dispose()
    weights = np.zeros(len(symbols))
    for r in rows:
        weights[symbols.index(r.symbol)] += r.notional
    bank_pnl = market.matrix @ weights
    hits = 0
    for k in range(120):
        t = 250 + k
        var99 = engine.historical_var(bank_pnl[t - 250 : t], 0.99)
        hits += int(-bank_pnl[t] > var99)
    bank = body["bank"]
    assert bank["exceptions_99"] == hits
    assert bank["traffic_light"] == engine.traffic_light(hits, 120, 0.99)
    assert bank["hpl"] == pytest.approx(bank_pnl[250:].tolist(), rel=1e-12)
    assert bank["pla_zone"] == "green"  # the historical model's RTPL is its HPL
    assert 0.0 < bank["kupiec_p_value"] <= 1.0
    assert 0.0 < bank["z2_p_value"] <= 1.0
    assert set(body["desks"]) == {r.portfolio_id for r in rows}
    assert body["first_day"] == market.dates[250].isoformat()


def test_too_little_history_is_a_one_line_error(cli: Cli) -> None:
    """Asking for more sessions than stored fails with exit 1 and says how many are needed."""
    result = cli("backtest", "--days", "250", "--window", "250")
    assert result.exit_code == 1
    assert "the replay needs 500 (250 + 250)" in result.output


def test_an_empty_store_is_refused(tmp_path: Path) -> None:
    """No market data, no positions: a clear BacktestError, never a traceback."""
    store = database.make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    database.upgrade(store)
    factory = database.session_factory(store)
    with pytest.raises(BacktestError, match="no market data"):
        replay(factory)
    with pytest.raises(BacktestError, match="at least 20 days"):
        replay(factory, days=5)
    store.dispose()


def test_bad_as_of_is_a_usage_error(cli: Cli) -> None:
    """A malformed --as-of date exits 2 with a message."""
    result = cli("backtest", "--as-of", "2026-13-01")
    assert result.exit_code == 2
    assert "--as-of must be a date" in result.output
