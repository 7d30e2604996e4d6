"""The demo's policy and its v1–v4 code changes do what the story says, on real code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from riskctl.config import load_config
from riskctl.demo.patches import DEFECT_PATCH, HARMLESS_PATCH, MODEL_CHANGE_PATCH
from riskctl.demo.policy import DEMO_GATES, PORT_SHIFT, demo_policy

ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable

PROBE = """
import json, os
import numpy as np
from fastapi.testclient import TestClient
from risk_service.engine import portfolio_var
from risk_service.api.app import create_app
from risk_service.config import Settings
from risk_service.auth import Scope, create_token
from risk_service.store import database

rng = np.random.default_rng(1)
returns = rng.normal(0, 0.01, (300, 3))
out = {m: portfolio_var([1e6, -2e5, 5e5], returns, 0.99, m).var
       for m in ("historical", "parametric")}
statuses = {}
for env in ("dev", "prod"):
    os.environ["RISK_SERVICE_ENVIRONMENT"] = env
    settings = Settings()
    store = database.make_engine(settings.resolved_database_url())
    database.upgrade(store, "head")
    token = create_token(database.session_factory(store), "probe-" + env, Scope.COMPUTE)
    client = TestClient(create_app(settings), headers={"Authorization": "Bearer " + token})
    body = {"returns": [0.01, -0.02, 0.03, -0.01], "confidence": 0.5}
    statuses[env] = [client.post("/v1/var", json=body).status_code for _ in range(80)]
out["statuses"] = statuses
print(json.dumps(out))
"""


def _probe(src: Path, tmp: Path) -> dict[str, object]:
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "RISK_SERVICE_DATABASE_URL": f"sqlite:///{tmp / (src.parent.name + '.db')}",
    }
    env.pop("RISK_SERVICE_ENVIRONMENT", None)
    done = subprocess.run(
        [PYTHON, "-W", "ignore", "-c", PROBE], env=env, capture_output=True, text=True, check=False,
        timeout=120, cwd=tmp,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.integration
def test_patches_change_behaviour_as_the_story_says(tmp_path: Path) -> None:
    """v3 scales historical VaR by 1.5; v4 fails every 4th /v1 request after 60, in prod only."""
    original = tmp_path / "original"
    patched = tmp_path / "patched"
    for copy in (original, patched):
        shutil.copytree(ROOT / "src", copy / "src")
    MODEL_CHANGE_PATCH.apply(patched)
    DEFECT_PATCH.apply(patched)
    before = _probe(original / "src", tmp_path)
    after = _probe(patched / "src", tmp_path)
    assert after["historical"] == pytest.approx(1.5 * before["historical"], rel=1e-12)  # type: ignore[operator]
    assert after["parametric"] == before["parametric"]
    assert set(before["statuses"]["prod"]) == {200}  # type: ignore[index]
    assert after["statuses"]["dev"] == [200] * 80  # type: ignore[index]
    prod = after["statuses"]["prod"]  # type: ignore[index]
    assert prod[:60] == [200] * 60
    assert prod.count(500) == 5  # requests 64, 68, 72, 76, 80

    lint = subprocess.run(
        [str(Path(PYTHON).parent / "ruff"), "check", "--config", str(ROOT / "pyproject.toml"),
         str(patched / "src" / "risk_service" / "engine" / "portfolio.py"),
         str(patched / "src" / "risk_service" / "api" / "app.py")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout


def test_harmless_patch_is_named(tmp_path: Path) -> None:
    """The harmless change appends a changelog line naming its version."""
    patch = HARMLESS_PATCH.named("v2: docs", "v2")
    patch.apply(tmp_path)
    patch.apply(tmp_path)
    assert (tmp_path / "docs" / "changelog.md").read_text() == "- v2: documentation only.\n" * 2
    assert patch.message == "v2: docs"


def test_demo_policy_is_valid_and_open(tmp_path: Path) -> None:
    """The demo policy validates, keeps identities, opens prod all week and moves ports."""
    path = tmp_path / "delivery-demo.toml"
    path.write_text(demo_policy(ROOT / "delivery.toml"))
    config = load_config(path).config
    prod = config.environment("prod")
    assert prod.freeze is False
    assert len(prod.windows[0].days) == 7
    assert prod.required_gates == tuple(DEMO_GATES)
    assert prod.shadow.enabled
    base = load_config(ROOT / "delivery.toml").config
    assert prod.port == base.environment("prod").port + PORT_SHIFT
    assert set(config.identities) == set(base.identities)
    assert path.read_text().startswith("# riskctl demo policy")
