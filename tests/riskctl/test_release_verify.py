"""Release files re-hashed against the audited digest at every use (issue 8, finding 7)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from riskctl.targets.releasedir import MARKER, ensure_venv, site_packages
from riskctl.targets.verify import (
    DIGEST_VARIABLE,
    ReleaseTamperedError,
    audited_digest,
    verify_release_files,
)
from tests.riskctl.conftest import Built, Cli


def _wheel(release_dir: Path) -> Path:
    return next(release_dir.glob("*.whl"))


@pytest.fixture
def release_copy(built: Built, tmp_path: Path) -> Path:
    """A copy of the built release's directory (wheel, lock, provenance...)."""
    return Path(shutil.copytree(built.home / "releases" / built.release, tmp_path / "rel"))


def test_finding7_swapped_wheel_refuses_deploy(built: Built, cli: Cli) -> None:
    """A wheel swapped in the release directory: the deploy is refused (exit 3) before any
    instance starts, and the refusal is recorded."""
    wheel = _wheel(built.home / "releases" / built.release)
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    refused = cli("deploy", built.release, "--env", "dev", "--as", "eng-1")
    assert refused.code == 3, refused.stdout + refused.stderr
    assert "not the audited" in refused.stderr
    assert cli.audit_actions()[-1] == "deploy.refused"
    assert not (built.home / "releases" / built.release / "venv").exists()
    assert cli("audit", "verify").code == 0


def test_untouched_release_verifies(built: Built, release_copy: Path) -> None:
    """The files as built hash to the audited digest."""
    verify_release_files(release_copy, _wheel(release_copy).name, built.digest)


@pytest.mark.parametrize("change", ["extra wheel", "no lock", "added declarations", "lock"])
def test_any_change_to_the_release_files_is_refused(
    built: Built, release_copy: Path, change: str
) -> None:
    """Adding a wheel, removing the lock, adding declarations or editing the lock: refused."""
    wheel = _wheel(release_copy).name
    if change == "extra wheel":
        shutil.copy2(release_copy / wheel, release_copy / "evil-1.0-py3-none-any.whl")
    elif change == "no lock":
        (release_copy / "requirements.lock").unlink()
    elif change == "added declarations":
        (release_copy / "release.toml").write_text("[model_change]\n")
    else:
        with (release_copy / "requirements.lock").open("a") as fh:
            fh.write("evil==1.0\n")
    with pytest.raises(ReleaseTamperedError):
        verify_release_files(release_copy, wheel, built.digest)


def _install_by_hand(release_copy: Path) -> Path:
    """A release venv as ensure_venv leaves it: the wheel's files in site-packages, marked
    complete (without pip, so the test stays fast and offline)."""
    venv = release_copy / "venv"
    target = site_packages(venv)
    target.mkdir(parents=True)
    with zipfile.ZipFile(_wheel(release_copy)) as archive:
        archive.extractall(target)
    (venv / MARKER).write_text("ok\n")
    return target


def test_ensure_venv_rechecks_before_every_start(built: Built, release_copy: Path) -> None:
    """An installed release is re-verified at each use: intact it is reused; an installed file
    edited after the install, or a wheel swapped since, is refused."""
    wheel = _wheel(release_copy).name
    installed = _install_by_hand(release_copy)
    assert ensure_venv(release_copy, wheel, digest=built.digest) == release_copy / "venv"
    module = next(installed.glob("fixture_svc/engine.py"))
    module.write_text(module.read_text() + "\nFACTOR = 1.5\n")
    with pytest.raises(ReleaseTamperedError, match="differs from the release's wheel"):
        ensure_venv(release_copy, wheel, digest=built.digest)
    (release_copy / wheel).write_bytes(b"PK")
    with pytest.raises(ReleaseTamperedError, match="not the audited"):
        ensure_venv(release_copy, wheel, digest=built.digest)


def test_ensure_venv_refuses_before_installing(built: Built, release_copy: Path) -> None:
    """A swapped wheel is refused before any environment is built."""
    wheel = _wheel(release_copy).name
    (release_copy / wheel).write_bytes(b"PK")
    with pytest.raises(ReleaseTamperedError):
        ensure_venv(release_copy, wheel, digest=built.digest)
    assert not (release_copy / "venv").exists()
    assert not (release_copy.parent / "deps").exists()


def test_instances_need_an_audited_digest() -> None:
    """Starting an instance without the audited digest in its variables is refused."""
    with pytest.raises(ReleaseTamperedError, match="no audited digest"):
        audited_digest({"RISK_SERVICE_ENVIRONMENT": "dev"})
    assert audited_digest({DIGEST_VARIABLE: "sha256:ab"}) == "sha256:ab"
