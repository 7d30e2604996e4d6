"""Issue 8, finding 10 (sandbox part): environment names validated before they reach HAProxy and
supervisord; release directories published atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from riskctl.build import publish as publish_module
from riskctl.build.publish import publish, sibling_staging
from tests.riskctl.conftest import Built, Cli, session_for
from tests.riskctl.fixture_project import commit_all


@pytest.mark.parametrize(
    "name",
    ["dev\\n  server evil 10.0.0.1:80", "Prod", "prod;rm", "a b", "-dev", "dev_1", "x" * 33],
)
def test_finding10_environment_names_validated(built: Built, cli: Cli, name: str) -> None:
    """A policy naming an environment outside the strict pattern is rejected on load (exit 2)
    with the offending name, before any HAProxy or supervisord name is made from it."""
    policy = (built.repo / "delivery.toml").read_text(encoding="utf-8")
    bad = built.repo.parent / "bad.toml"
    bad.write_text(policy.replace("[environments.dev]", f'[environments."{name}"]'))
    result = cli("status", "--config", str(bad))
    assert result.code == 2, result.stdout + result.stderr
    assert "environment names must match" in result.stderr


def test_valid_environment_names_load(built: Built, cli: Cli) -> None:
    """Lowercase names with inner hyphens are fine (the check does not reject real names)."""
    policy = (built.repo / "delivery.toml").read_text(encoding="utf-8")
    good = built.repo.parent / "good.toml"
    good.write_text(policy.replace("[environments.dev]", "[environments.dev-eu1]"))
    assert cli("status", "--config", str(good), "--json").code == 0


def _new_commit(built: Built) -> None:
    init = built.repo / "src" / "fixture_svc" / "__init__.py"
    init.write_text(init.read_text() + "CHANGED = 1\n")
    commit_all(built.repo, "a change")


def test_finding10_crash_at_publish_leaves_no_half_release(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that dies as it publishes leaves no release directory and no partial one; the
    next build publishes the whole release."""
    _new_commit(built)
    releases = built.home / "releases"
    before = sorted(p.name for p in releases.iterdir())
    renames: list[tuple[Path, Path]] = []
    real_rename = os.rename

    def crash(src: object, dst: object) -> None:
        renames.append((Path(str(src)), Path(str(dst))))
        raise OSError("simulated crash while publishing")

    monkeypatch.setattr(publish_module.os, "rename", crash)
    session = session_for(built.repo, built.home, monkeypatch, "eng-1")
    try:
        with pytest.raises(OSError, match="simulated crash"):
            session.build(allow_dirty=False)
    finally:
        session.close()
    assert sorted(p.name for p in releases.iterdir()) == before
    assert renames
    assert all(src.parent == dst.parent == releases for src, dst in renames)

    monkeypatch.setattr(publish_module.os, "rename", real_rename)
    session = session_for(built.repo, built.home, monkeypatch, "eng-1")
    try:
        out = session.build(allow_dirty=False)
    finally:
        session.close()
    assert (releases / out["release"] / "release.json").is_file()
    assert not [p for p in releases.iterdir() if p.name.startswith(".")]


def test_publish_replaces_an_incomplete_directory(tmp_path: Path) -> None:
    """A directory a crash left incomplete at the final path is replaced as a whole."""
    final = tmp_path / "releases" / "rel-1"
    final.mkdir(parents=True)
    (final / "half.whl").write_bytes(b"half")
    staging = sibling_staging(final)
    (staging / "release.json").write_text("{}")
    publish(staging, final)
    assert sorted(p.name for p in final.iterdir()) == ["release.json"]
    assert sorted(p.name for p in final.parent.iterdir()) == ["rel-1"]


def test_publish_refuses_a_staging_elsewhere(tmp_path: Path) -> None:
    """Staging on another directory (maybe another filesystem, so no atomic rename) is refused."""
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(ValueError, match="sibling"):
        publish(tmp_path / "elsewhere", tmp_path / "releases" / "rel-1")
