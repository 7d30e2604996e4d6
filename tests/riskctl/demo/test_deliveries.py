"""The demo's upstream delivery loads into a real prod store and anonymises for staging."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from riskctl.demo.deliveries import TRADERS, sessions_through, write_delivery

RISK_SERVICE = str(Path(sys.executable).parent / "risk-service")


def test_sessions_skip_holidays() -> None:
    """Sessions are NYSE sessions: Thanksgiving 2026 is absent, the day before is last."""
    days = sessions_through(dt.date(2026, 11, 27), 3)
    assert days == [dt.date(2026, 11, 24), dt.date(2026, 11, 25), dt.date(2026, 11, 27)]
    with pytest.raises(ValueError, match="not an NYSE session"):
        sessions_through(dt.date(2026, 11, 26), 3)


@pytest.mark.integration
def test_delivery_loads_runs_and_anonymises(tmp_path: Path) -> None:
    """risk-service loads and runs the delivery; the staging copy carries no trader names."""
    delivery = write_delivery(tmp_path, dt.date(2026, 11, 25), sessions=505, instruments=12)
    env = {
        **os.environ,
        "RISK_SERVICE_ENVIRONMENT": "prod",
        "RISK_SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
    }

    def service(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RISK_SERVICE, *args], env=env, capture_output=True, text=True, check=False, timeout=120
        )

    assert service("db", "upgrade").returncode == 0
    loaded = service(
        "data", "load", "--positions", str(delivery.positions), "--market", str(delivery.market)
    )
    assert loaded.returncode == 0, loaded.stderr
    run = service("daily-run", "--date", "2026-11-25", "--env", "prod")
    assert run.returncode == 0, run.stderr

    anonymised = tmp_path / "staging-positions.csv"
    env["RISK_SERVICE_ANONYMIZE_KEY"] = "demo-key-not-secret"
    done = service("data", "anonymize", str(delivery.positions), str(anonymised))
    assert done.returncode == 0, done.stderr
    text = anonymised.read_text()
    assert not any(name in text for name in TRADERS)
    with anonymised.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(delivery.positions.read_text().splitlines()) - 1
    assert not any(r["portfolio_id"].startswith("DESK-") for r in rows)
