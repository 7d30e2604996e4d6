"""A small fleet for the shadow replay's deploy tests: v1 plus the two variants they need.

Built like the progressive tests' fleet (same policy, same variant recipes), but only ``v2`` and
``x15`` on top of the session's gated v1, so these tests do not pay for every variant.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskctl.shadow.golden import generate_golden_set
from tests.riskctl.conftest import Built, Cli, distinct_ports
from tests.riskctl.fixture_project import commit_all
from tests.riskctl.progressive.conftest import (
    BASE_BEHAVIOUR,
    VARIANTS,
    Env,
    Fleet,
    progressive_policy,
)

#: The variants these tests deploy besides v1.
NEEDED = ("v2", "x15")


@pytest.fixture(scope="session")
def replay_fleet_template(template: Built, tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """v1, v2 and x15 built once, with the progressive policy and a small golden set."""
    base = tmp_path_factory.mktemp("replay-fleet")
    repo, home = base / "repo", base / "home"
    shutil.copytree(template.repo, repo, symlinks=True)
    shutil.copytree(template.home, home, symlinks=True)
    names = [f"{e}{s}" for e in ("dev", "staging", "prod") for s in ("", "-blue", "-green")]
    ports = distinct_ports(names)
    policy = base / "progressive.toml"
    policy.write_text(progressive_policy(ports), encoding="utf-8")
    golden = generate_golden_set(n_symbols=6, n_days=120, n_portfolios=3)
    (base / "golden-set.json").write_text(json.dumps(golden), encoding="utf-8")
    releases, digests = {"v1": template.release}, {"v1": template.digest}
    mp = pytest.MonkeyPatch()
    try:
        cli = Cli(repo, home, mp)
        for name in NEEDED:
            lines = BASE_BEHAVIOUR.splitlines()
            for key, value in VARIANTS[name].items():
                assert "/" not in key, "only behaviour knobs are rebuilt here"
                lines = [f"{key} = {value}" if ln.startswith(f"{key} =") else ln for ln in lines]
            (repo / "src" / "fixture_svc" / "behaviour.py").write_text(
                "\n".join(lines) + "\n", encoding="utf-8"
            )
            commit_all(repo, f"variant {name}")
            out = cli("build", "--json")
            assert out.code == 0, out.stderr
            releases[name], digests[name] = out.json()["release"], out.json()["digest"]
    finally:
        mp.undo()
    return Fleet(repo, home, policy, policy, releases, digests, ports)


@pytest.fixture
def replay_fleet(
    replay_fleet_template: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    """A private copy of the small fleet; HAProxy and supervisord stopped afterwards."""
    base = tmp_path / "f"
    shutil.copytree(replay_fleet_template.repo.parent, base, symlinks=True)
    t = replay_fleet_template
    copy = Fleet(
        base / "repo", base / "home", base / "progressive.toml", base / "progressive.toml",
        t.releases, t.digests, t.ports,
    )  # fmt: skip
    cli = Cli(copy.repo, copy.home, monkeypatch)
    cli.env["RISKCTL_CONFIG"] = str(copy.policy)
    env = Env(copy, cli)
    yield env
    env.target().fleet.shutdown()
