"""`riskctl` starts light: importing the CLI loads no heavy dependency (issue 11, item 4)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# What the commands need only once they run: the policy (pydantic), the audit store
# (SQLAlchemy, psycopg), keys (cryptography, PyJWT), HTTP (httpx), rendering (rich, PyYAML,
# markdown-it), numerics (NumPy, SciPy), the dashboard (FastAPI, uvicorn), metrics.
HEAVY = (
    "pydantic",
    "sqlalchemy",
    "psycopg",
    "cryptography",
    "jwt",
    "httpx",
    "rich",
    "yaml",
    "markdown_it",
    "reportlab",
    "numpy",
    "scipy",
    "fastapi",
    "uvicorn",
    "prometheus_client",
)


def _loaded_after(statement: str) -> set[str]:
    probe = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return {name.split(".")[0] for name in json.loads(done.stdout)}


@pytest.mark.parametrize("statement", ["import riskctl.cli", "from riskctl.cli import app"])
def test_importing_the_cli_loads_no_heavy_dependency(statement: str) -> None:
    """Importing the CLI (what every `riskctl` invocation does first) imports none of HEAVY."""
    assert _loaded_after(statement) & set(HEAVY) == set()


def test_the_probe_sees_a_heavy_import() -> None:
    """The probe itself works: importing the use cases' context does load pydantic."""
    assert "pydantic" in _loaded_after("import riskctl.usecases.context")


def test_every_command_is_still_registered() -> None:
    """The lazy CLI still lists every command and group SPEC §4 names, in its usual order."""
    from typer.main import get_command  # noqa: PLC0415

    from riskctl.cli import app  # noqa: PLC0415

    group = get_command(app)
    assert list(group.commands) == [  # type: ignore[attr-defined]
        "build", "gates", "review", "approve", "deploy", "status", "promote", "abort",
        "rollback", "history", "dashboard", "dora", "keygen", "exec", "risk-run", "demo",
        "audit", "incident", "witness", "policy", "render",
    ]  # fmt: skip


#: Every module `riskctl abort` runs through: the CLI command and runner, the context (policy,
#: identity, audit trail), authorisation, the default SQLite store, the rollout controller with
#: its executor and machine, the local target and HAProxy's runtime API.
ABORT_PATH = (
    "riskctl.cli.deploys",
    "riskctl.cli._runner",
    "riskctl.usecases.context",
    "riskctl.usecases.rollouts",
    "riskctl.policy",
    "riskctl.audit.stores",
    "riskctl.audit.sqlite",
    "riskctl.audit.log",
    "riskctl.incidents",
    "riskctl.rollout.controller",
    "riskctl.rollout.executor",
    "riskctl.rollout.machine",
    "riskctl.targets.local",
    "riskctl.router.haproxy",
)
#: What abort really needs: the policy's models (to authorise) and Ed25519 (to prove and sign).
ABORT_NEEDS = {"pydantic", "cryptography"}


def test_the_abort_path_loads_no_analysis_http_or_sqlalchemy() -> None:
    """Importing every module on `riskctl abort`'s path (issue 11, item 4) loads nothing of
    HEAVY beyond the policy's models and the signing keys: no NumPy, SciPy, httpx, SQLAlchemy,
    PyJWT, Prometheus client or rich."""
    loaded = _loaded_after("import " + ", ".join(ABORT_PATH))
    assert loaded & set(HEAVY) == ABORT_NEEDS
