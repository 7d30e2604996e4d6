"""The local target for real: a release virtualenv under supervisord, health checked over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from riskctl.config import TargetSpec
from riskctl.targets.supervisor import Supervisor
from tests.riskctl.conftest import Built, Cli
from tests.riskctl.fixture_project import commit_all

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def local(built: Built, cli: Cli) -> Iterator[Cli]:
    """A CLI whose supervisord is shut down after the test."""
    yield cli
    Supervisor(built.home / "supervisor").shutdown()


def test_recreate_deploys_then_rolls_back_a_crashing_release(
    built: Built, local: Cli, ports: dict[str, int]
) -> None:
    """v1 serves dev with its digest; v2 crashes on start, is stopped, and v1 is restored."""
    first = local("deploy", built.release, "--env", "dev", "--as", "eng-1", "--json")
    assert first.code == 0, first.stderr
    assert "started supervisord" in first.json()["steps"]
    version = httpx.get(f"http://127.0.0.1:{ports['dev']}/version", timeout=5).json()
    assert version["artifact_digest"] == built.digest
    assert version["environment"] == "dev"
    status = local("status", "--env", "dev", "--json").json()["environments"]["dev"]
    assert status["phase"] == "Healthy"
    assert status["stable_release"] == built.release

    cli_py = built.repo / "src" / "fixture_svc" / "cli.py"
    cli_py.write_text(
        cli_py.read_text().replace('if os.environ.get("FIXTURE_CRASH_ON_START"):', "if True:")
    )
    commit_all(built.repo, "crash on start")
    broken = local("build", "--json").json()["release"]
    failed = local("deploy", broken, "--env", "dev", "--as", "eng-1", "--json")
    assert failed.code == 1
    assert "rolled back to " + built.release in failed.json()["error"]
    version = httpx.get(f"http://127.0.0.1:{ports['dev']}/version", timeout=5).json()
    assert version["artifact_digest"] == built.digest
    actions = local.audit_actions()
    assert actions[-3:] == ["deploy.started", "deploy.failed", "rollback.performed"]
    assert local("audit", "verify").code == 0


def test_supervisor_socket_path_stays_short(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A deep RISKCTL_HOME still gets a unix socket path within the kernel's limit."""
    deep = tmp_path_factory.mktemp("d") / ("x" * 120)
    assert len(str(Supervisor(deep).socket)) < 100
    assert not Supervisor(deep).running()
    assert TargetSpec().health_path == "/healthz"
