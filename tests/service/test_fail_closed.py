"""The service fails closed (issue 8, finding 9): no implicit dev outside a checkout, dev only on
SQLite and loopback, synthetic data never in a staging/prod store."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from risk_service import failclosed
from risk_service.cli import app
from risk_service.config import Settings
from risk_service.failclosed import UnsafeSettingsError, check_bind, check_settings
from risk_service.marketdata.synthetic import SyntheticSource, SyntheticSpec
from risk_service.store import database
from risk_service.store.environment import StoreEnvironmentError

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DAY = dt.date(2026, 11, 25)


def cli(*args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def _rows(url: str, table: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608


def test_finding9_environment_must_be_explicit_outside_a_checkout() -> None:
    """Installed (not a source checkout), no RISK_SERVICE_ENVIRONMENT is refused; in a checkout
    dev may be assumed; an explicit environment is always accepted."""
    implicit = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(UnsafeSettingsError, match="must be set explicitly"):
        check_settings(implicit, checkout=False)
    check_settings(implicit, checkout=True)
    explicit = Settings(_env_file=None, environment="dev")  # type: ignore[call-arg]
    check_settings(explicit, checkout=False)


def test_installed_package_refuses_an_implicit_environment(tmp_path: Path) -> None:
    """The real CLI, imported from an installed-like copy of the package (not src/ beside a
    pyproject.toml), exits 2 with the message when no environment is given — and touches no
    store."""
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "src" / "risk_service", site / "risk_service")
    store = tmp_path / "store.db"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(site),
        "RISK_SERVICE_DATABASE_URL": f"sqlite:///{store}",
    }
    code = "from risk_service.cli import app; app()"
    out = subprocess.run(
        [sys.executable, "-c", code, "daily-run", "--date", DAY.isoformat()],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert "RISK_SERVICE_ENVIRONMENT must be set explicitly" in out.stderr
    assert "Traceback" not in out.stderr
    assert not store.exists()
    assert failclosed.source_checkout()  # this test process itself runs from the checkout


def test_finding9_dev_refuses_a_non_sqlite_store() -> None:
    """Dev against PostgreSQL is refused before any connection (exit 2), for every command that
    opens the store."""
    for args in (["daily-run", "--date", DAY.isoformat()], ["db", "upgrade"], ["token", "create",
                 "--name", "x"], ["data", "generate", "--date", DAY.isoformat()]):  # fmt: skip
        code, output = cli(*args, RISK_SERVICE_ENVIRONMENT="dev", RISK_SERVICE_DATABASE_URL=PG)
        assert code == 2, (args, output)
        assert "dev mode refuses a non-SQLite store" in output


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "example.com"])  # noqa: S104
def test_finding9_dev_refuses_a_non_loopback_bind(host: str, tmp_path: Path) -> None:
    """`serve` in dev on a non-loopback address exits 2 before listening."""
    url = f"sqlite:///{tmp_path / 'd.db'}"
    code, output = cli(
        "serve", "--host", host, RISK_SERVICE_ENVIRONMENT="dev", RISK_SERVICE_DATABASE_URL=url
    )
    assert code == 2, output
    assert "listens only on loopback" in output


def test_loopback_and_non_dev_binds_are_allowed() -> None:
    """Loopback is fine in dev; staging/prod (tokens required) may listen anywhere."""
    dev = Settings(_env_file=None, environment="dev")  # type: ignore[call-arg]
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        check_bind(dev, host)
    prod = Settings(_env_file=None, environment="prod")  # type: ignore[call-arg]
    check_bind(prod, "0.0.0.0")  # noqa: S104


def test_finding9_synthetic_refused_in_a_prod_store(tmp_path: Path) -> None:
    """A prod store (recorded at `db upgrade`) refuses a daily run with the environment unset
    and synthetic generation even when dev is stated: nothing synthetic is written."""
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    code, output = cli(
        "db", "upgrade", RISK_SERVICE_ENVIRONMENT="prod", RISK_SERVICE_DATABASE_URL=url
    )
    assert code == 0, output
    code, output = cli("daily-run", "--date", DAY.isoformat(), RISK_SERVICE_DATABASE_URL=url)
    assert code == 1, output
    assert "this store belongs to prod, not dev" in output
    code, output = cli(
        "data", "generate", "--date", DAY.isoformat(),
        RISK_SERVICE_ENVIRONMENT="dev", RISK_SERVICE_DATABASE_URL=url,
    )  # fmt: skip
    assert code == 1, output
    assert "synthetic market data and positions are refused in a prod store" in output
    assert _rows(url, "positions") == 0
    assert _rows(url, "market_data") == 0


def test_synthetic_source_refuses_a_staging_store(tmp_path: Path) -> None:
    """The synthetic source itself (any caller) refuses a store recorded as staging."""
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    assert cli("db", "upgrade", RISK_SERVICE_ENVIRONMENT="staging",
               RISK_SERVICE_DATABASE_URL=url)[0] == 0  # fmt: skip
    engine = database.make_engine(url)
    try:
        with pytest.raises(StoreEnvironmentError, match="staging store"):
            SyntheticSource(SyntheticSpec(seed=1, instruments=3, portfolios=1)).ensure(
                database.session_factory(engine), DAY, 30
            )
    finally:
        engine.dispose()
    assert _rows(url, "positions") == 0


def test_a_store_keeps_its_first_environment(tmp_path: Path) -> None:
    """`db upgrade` records the environment once; another environment is then refused."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert cli("db", "upgrade", RISK_SERVICE_ENVIRONMENT="staging",
               RISK_SERVICE_DATABASE_URL=url)[0] == 0  # fmt: skip
    code, output = cli(
        "db", "upgrade", RISK_SERVICE_ENVIRONMENT="prod", RISK_SERVICE_DATABASE_URL=url
    )
    assert code == 1, output
    assert "this store belongs to staging, not prod" in output


def test_image_does_not_bind_all_interfaces_by_default() -> None:
    """The Dockerfile's default command serves on loopback (dev mode would refuse 0.0.0.0)."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    cmd = re.findall(r"^CMD (.+)$", dockerfile, re.MULTILINE)
    assert cmd == ['["serve", "--host", "127.0.0.1", "--port", "8000"]']
