"""/version's digest comes from the release files (issue 8, finding 7), computed the way riskctl
computes a release's content digest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from risk_service import release_files
from risk_service.release_files import (
    UNKNOWN,
    ReleaseMismatchError,
    check_expected,
    files_digest,
    release_dir_of,
)
from riskctl.build.release import content_digest, sha256_file
from tests.service.conftest import LiveServer, settings_for

WHEEL = "risk_service-1.0.0-py3-none-any.whl"


def fake_release(root: Path, *, declarations: bool = False) -> Path:
    """A release directory as riskctl lays it out: wheel, lock, optional declarations, venv/."""
    root.mkdir(parents=True)
    (root / WHEEL).write_bytes(b"PK-the-wheel")
    (root / "requirements.lock").write_text("uvicorn==0.30.0\n")
    if declarations:
        (root / "release.toml").write_text("[model_change]\n")
    (root / "venv").mkdir()
    return root


@pytest.fixture
def in_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process behaves as if it ran from a release's venv."""
    root = fake_release(tmp_path / "rel-abc")
    monkeypatch.setattr(sys, "prefix", str(root / "venv"))
    release_files._digest_of.cache_clear()
    yield root
    release_files._digest_of.cache_clear()


@pytest.mark.parametrize("declarations", [False, True])
def test_digest_matches_riskctls_content_digest(tmp_path: Path, declarations: bool) -> None:
    """The service's digest of the files equals riskctl's content digest (independent code)."""
    root = fake_release(tmp_path / "r", declarations=declarations)
    names = [WHEEL, "requirements.lock", *(["release.toml"] if declarations else [])]
    expected = content_digest([(n, sha256_file(root / n)) for n in names])
    assert files_digest(root) == expected


def test_release_dir_is_only_a_riskctl_release_venv(tmp_path: Path) -> None:
    """Only <release>/venv with a wheel and a lock beside it counts; a checkout's venv does not."""
    root = fake_release(tmp_path / "r")
    assert release_dir_of(root / "venv") == root
    assert release_dir_of(tmp_path / ".venv") is None
    (root / WHEEL).unlink()
    assert release_dir_of(root / "venv") is None


def test_finding7_version_reports_the_files_digest(in_release: Path) -> None:
    """/version reports the digest of the files on disk, not the one in the variable; a wheel
    swapped before start shows as a different digest."""
    (in_release / WHEEL).write_bytes(b"PK-a-swapped-wheel")
    swapped = files_digest(in_release)
    settings = settings_for(f"sqlite:///{in_release / 'risk.db'}")
    told = settings.artifact_digest
    with LiveServer(settings) as server, server.client() as client:
        version = client.get("/version").json()
    assert version["artifact_digest"] == swapped
    assert version["artifact_digest"] != told


def test_finding7_start_refused_when_files_differ(in_release: Path) -> None:
    """Started for one digest, the service refuses when the files hash to another."""
    good = files_digest(in_release)
    assert check_expected(good) == good
    assert check_expected(UNKNOWN) == good
    with pytest.raises(ReleaseMismatchError, match="refusing to start"):
        check_expected("sha256:" + "00" * 32)


def test_serve_refuses_a_tampered_release(tmp_path: Path) -> None:
    """`risk-service serve` run from a release venv whose wheel no longer matches exits 1 with
    a message, before it listens."""
    root = fake_release(tmp_path / "rel")
    expected = files_digest(root)
    (root / WHEEL).write_bytes(b"PK-swapped")
    code = (
        "import sys; sys.prefix = sys.argv[1]; sys.argv = ['risk-service', 'serve', '--port', '1']"
        "\nfrom risk_service.cli import app\napp()"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "RISK_SERVICE_ARTIFACT_DIGEST": expected,
        "RISK_SERVICE_ENVIRONMENT": "dev",
        "RISK_SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", code, str(root / "venv")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert "refusing to start" in out.stderr
    assert "Traceback" not in out.stderr
