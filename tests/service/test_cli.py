"""The `risk-service` command: db, daily-run, token and data commands as a user runs them."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from risk_service.cli import app
from risk_service.sessions import nyse
from risk_service.store import database

DAY = dt.date(2026, 11, 25)


class Cli:
    """Invokes the CLI with a private store and environment."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.env = {
            "RISK_SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "RISK_SERVICE_WINDOW": "250",
            "RISK_SERVICE_SYNTHETIC_INSTRUMENTS": "30",
            "RISK_SERVICE_SYNTHETIC_PORTFOLIOS": "4",
            "RISK_SERVICE_ANONYMIZE_KEY": "a-long-enough-staging-key",
        }

    def __call__(self, *args: str, **env: str) -> Result:
        """Run ``risk-service ARGS`` with extra environment variables."""
        return CliRunner().invoke(app, list(args), env={**self.env, **env})


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A CLI bound to a fresh store."""
    return Cli(tmp_path)


def test_db_upgrade_current_downgrade(cli: Cli) -> None:
    """`db upgrade`, `db current` and `db downgrade` move the store between base and head."""
    up = cli("db", "upgrade")
    assert up.exit_code == 0, up.output
    head = database.head_revision()
    assert f"store at revision {head}" in up.output
    assert f"current {head}, head {head}" in cli("db", "current").output
    down = cli("db", "downgrade", "--revision", "base")
    assert down.exit_code == 0
    assert "store at revision base" in down.output
    assert "current none" in cli("db", "current").output


def test_daily_run_in_dev_migrates_generates_and_reports(cli: Cli) -> None:
    """`daily-run --date 2026-11-25` works on a fresh dev store and prints the summary."""
    result = cli("daily-run", "--date", "2026-11-25")
    assert result.exit_code == 0, result.output
    assert "portfolios" in result.output
    assert "2026-11-25T11:00+00:00" in result.output
    again = cli("daily-run", "--date", "2026-11-25", "--env", "dev")
    assert again.exit_code == 0
    assert "replaced earlier run" in again.output


def test_daily_run_refuses_thanksgiving(cli: Cli) -> None:
    """A holiday is refused with exit code 3 and a one-line reason."""
    result = cli("daily-run", "--date", "2026-11-26")
    assert result.exit_code == 3
    assert "2026-11-26 is not an NYSE session (an NYSE holiday)" in result.output
    assert "Traceback" not in result.output


def test_daily_run_rejects_a_malformed_date(cli: Cli) -> None:
    """A malformed date is a usage error (exit 2)."""
    result = cli("daily-run", "--date", "25/11/2026")
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_prod_requires_migration_and_delivered_data(cli: Cli) -> None:
    """In prod the store must be migrated and positions delivered; each is a clear error."""
    result = cli("daily-run", "--date", "2026-11-25", "--env", "prod")
    assert result.exit_code == 1
    assert "run `risk-service db upgrade` first" in result.output
    assert cli("db", "upgrade").exit_code == 0
    result = cli("daily-run", "--date", "2026-11-25", "--env", "prod")
    assert result.exit_code == 1
    assert "no positions delivered for 2026-11-25" in result.output


def write_delivery(folder: Path) -> tuple[Path, Path]:
    """A small prod delivery: prices for 251 sessions and positions for DAY."""
    days = nyse().sessions_before(DAY, 251)
    rng = np.random.default_rng(1)
    market = folder / "market.csv"
    with market.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["business_date", "symbol", "close"])
        level = {"AAA": 50.0, "BBB": 80.0}
        for d in days:
            for s, price in level.items():
                level[s] = price * (1 + rng.standard_t(4) * 0.01)
                w.writerow([d.isoformat(), s, f"{level[s]:.6f}"])
    book = folder / "positions.csv"
    with book.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["business_date", "portfolio_id", "symbol", "notional", "trader"])
        w.writerow([DAY.isoformat(), "DESK-A", "AAA", "1000000", "jane"])
        w.writerow([DAY.isoformat(), "DESK-A", "BBB", "-250000", "jane"])
        w.writerow([DAY.isoformat(), "DESK-B", "BBB", "750000", "joe"])
    return market, book


def test_prod_load_then_run(cli: Cli) -> None:
    """`data load` of delivered files followed by a prod `daily-run` succeeds."""
    market, book = write_delivery(cli.tmp)
    prod = {"RISK_SERVICE_ENVIRONMENT": "prod"}
    assert cli("db", "upgrade", **prod).exit_code == 0
    loaded = cli("data", "load", "--market", str(market), "--positions", str(book), **prod)
    assert loaded.exit_code == 0, loaded.output
    assert "loaded 250 market days and 3 positions" in loaded.output
    result = cli("daily-run", "--date", "2026-11-25", **prod)
    assert result.exit_code == 0, result.output


def test_staging_runs_on_an_anonymised_copy(cli: Cli) -> None:
    """`data anonymize` then `data load` feed a staging run without the original ids."""
    market, book = write_delivery(cli.tmp)
    staging = {"RISK_SERVICE_ENVIRONMENT": "staging"}
    anon = cli.tmp / "anon.parquet"
    result = cli("data", "anonymize", str(book), str(anon), **staging)
    assert result.exit_code == 0, result.output
    assert cli("db", "upgrade", **staging).exit_code == 0
    assert cli("data", "load", "--market", str(market), "--positions", str(anon)).exit_code == 0
    assert cli("daily-run", "--date", "2026-11-25", **staging).exit_code == 0


def test_data_errors_are_one_line(cli: Cli) -> None:
    """Invalid deliveries and a missing key fail with exit 1 and a message, no traceback."""
    market, _ = write_delivery(cli.tmp)
    text = market.read_text().splitlines()
    (cli.tmp / "dup.csv").write_text("\n".join([*text, text[1]]) + "\n")
    result = cli("data", "load", "--market", str(cli.tmp / "dup.csv"))
    assert result.exit_code == 1
    assert "duplicate" in result.output
    assert cli("data", "load").exit_code == 1
    no_key = cli("data", "anonymize", str(market), str(cli.tmp / "x.csv"),
                 RISK_SERVICE_ANONYMIZE_KEY="")  # fmt: skip
    assert no_key.exit_code == 1
    assert "RISK_SERVICE_ANONYMIZE_KEY" in no_key.output


def test_data_generate_covers_the_date(cli: Cli) -> None:
    """`data generate --date` writes the window and positions; a holiday is refused."""
    result = cli("data", "generate", "--date", "2026-11-25", "--window", "260")
    assert result.exit_code == 0, result.output
    assert "260 new market days" in result.output
    assert cli("data", "generate", "--date", "2026-11-26").exit_code == 3


def test_token_create_and_revoke(cli: Cli) -> None:
    """A token is printed once; duplicates and unknown revocations are clear errors."""
    created = cli("token", "create", "--name", "dashboard", "--scope", "read")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("rsk_")
    dup = cli("token", "create", "--name", "dashboard")
    assert dup.exit_code == 1
    assert "revoke it first" in dup.output
    assert cli("token", "revoke", "--name", "dashboard").exit_code == 0
    missing = cli("token", "revoke", "--name", "dashboard")
    assert missing.exit_code == 1
    assert "no active token" in missing.output
    assert cli("token", "create", "--name", "").exit_code == 1
    assert cli("token", "create", "--name", "x", "--scope", "root").exit_code == 2


def test_database_errors_are_one_line(cli: Cli) -> None:
    """An unreachable database gives a one-line error, not a traceback."""
    result = cli(
        "db", "current",
        RISK_SERVICE_DATABASE_URL="postgresql+psycopg://x@127.0.0.1:1/x?connect_timeout=1",
        RISK_SERVICE_ENVIRONMENT="prod",  # dev refuses a non-SQLite store before connecting
    )  # fmt: skip
    assert result.exit_code == 1
    assert "database error" in result.output
