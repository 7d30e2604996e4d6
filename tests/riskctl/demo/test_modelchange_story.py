"""The model-change story's code changes and numbers do what the story says, on real code."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from risk_service import engine
from risk_service.cli import app as service_app
from risk_service.daily_run.backtest import replay
from risk_service.store import database
from riskctl.cli import app as riskctl_app
from riskctl.demo.deliveries import write_delivery
from riskctl.demo.modelchange import model_change

ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable

PROBE = """
import json
import numpy as np
from risk_service.engine import batch_risk, portfolio_var
returns = np.random.default_rng(1).normal(0, 0.01, (300, 3))
book = np.array([1e6, -2e5, 5e5])
batch = batch_risk(book[None, :], returns)
print(json.dumps({"batch99": float(batch.var[0.99][0]), "batch_es": float(batch.es[0]),
                  "api": portfolio_var(book, returns, 0.99).var}))
"""


def _probe(src: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [PYTHON, "-c", PROBE], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.integration
def test_model_change_patches_scale_both_models_and_stay_lint_clean(tmp_path: Path) -> None:
    """vB's edits scale the daily model (batch_risk VaR and ES) and the API's historical VaR by
    0.80 exactly, and pass the demo's lint gate (ruff check and format)."""
    original, patched = tmp_path / "original", tmp_path / "patched"
    for copy in (original, patched):
        shutil.copytree(ROOT / "src", copy / "src")
    for patch in model_change("vB", 0.80):
        patch.apply(patched)
    before, after = _probe(original / "src"), _probe(patched / "src")
    for key in ("batch99", "batch_es", "api"):
        assert after[key] == pytest.approx(0.80 * before[key], rel=1e-12)
    engine_dir = patched / "src" / "risk_service" / "engine"
    ruff = str(Path(PYTHON).parent / "ruff")
    config = ["--config", str(ROOT / "pyproject.toml")]
    for command in ([ruff, "check", *config, str(engine_dir)],
                    [ruff, "format", "--check", *config, str(engine_dir)]):  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.integration
def test_the_storys_factors_keep_green_and_turn_yellow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the demo's upstream delivery, replayed as `risk-service backtest` does: the model × 1.10
    keeps the bank green, × 0.80 moves it to yellow (the story's accepted and blocked changes)."""
    delivery = write_delivery(tmp_path / "up", dt.date(2026, 12, 3))
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    env = {"RISK_SERVICE_DATABASE_URL": url, "RISK_SERVICE_ENVIRONMENT": "prod"}
    for args in (["db", "upgrade"],
                 ["data", "load", "--positions", str(delivery.positions),
                  "--market", str(delivery.market)]):  # fmt: skip
        done = CliRunner().invoke(service_app, args, env=env)
        assert done.exit_code == 0, done.output
    store = database.make_engine(url)
    factory = database.session_factory(store)
    original = engine.batch_risk
    zones: dict[float, Any] = {}
    for factor in (1.10, 0.80):

        def scaled(*args: Any, factor: float = factor, **kwargs: Any) -> engine.BatchRisk:
            risk = original(*args, **kwargs)
            return dataclasses.replace(
                risk, var={c: v * factor for c, v in risk.var.items()}, es=risk.es * factor
            )

        monkeypatch.setattr(engine, "batch_risk", scaled)
        zones[factor] = replay(factory, days=250, window=250)["bank"]["traffic_light"]
    store.dispose()
    assert zones == {1.10: "green", 0.80: "yellow"}


def test_unknown_story_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """`riskctl demo --story nope` exits 2 naming the stories."""
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(riskctl_app, ["demo", "--story", "nope"])
    assert result.exit_code == 2
    assert "delivery or model-change" in result.output
