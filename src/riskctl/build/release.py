"""Assemble a release: export → wheel → lock → digest → SBOM → signed provenance → release dir.

The content digest is SHA-256 over a manifest naming each release file and its SHA-256
(``riskctl-release/v1``), so it covers the wheel and the locked requirements and nothing else:
the same commit gives the same digest on any machine.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from riskctl import __version__
from riskctl.build.provenance import statement
from riskctl.build.publish import publish, sibling_staging
from riskctl.build.sbom import make_sbom
from riskctl.build.wheel import build_wheel
from riskctl.changes import classify
from riskctl.config import DeliveryConfig
from riskctl.declarations import load_declarations
from riskctl.errors import UsageError
from riskctl.gitrepo import GitRepo
from riskctl.ledger import release_from_details, release_to_details
from riskctl.model import Release
from riskctl.signing import KeyPair, dsse_sign

__all__ = ["LOCK_NAME", "BuildOutput", "build_release", "content_digest", "sha256_file"]

LOCK_NAME = "requirements.lock"
#: The release's declarations (riskctl.declarations), when its tree has them.
DECLARATIONS_NAME = "release.toml"
MANIFEST_HEADER = b"riskctl-release/v1\n"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def content_digest(files: Sequence[tuple[str, str]]) -> str:
    """``sha256:`` over the manifest of (name, sha256 hex) pairs, sorted by name."""
    manifest = MANIFEST_HEADER + b"".join(
        f"{name}\0{sha}\n".encode() for name, sha in sorted(files)
    )
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


@dataclass(frozen=True)
class BuildOutput:
    """The release and where its files are."""

    release: Release
    directory: Path
    artifacts: dict[str, str]
    existed: bool


def _version_of(wheel: Path) -> str:
    parts = wheel.name.split("-")
    return parts[1] if len(parts) > 1 else "0"


def _archive_source(tree: Path, out: Path) -> None:
    """A tar of the exact tree that was built (gates run on it), deterministic member order."""
    with tarfile.open(out, "w") as tar:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            tar.add(path, arcname=str(path.relative_to(tree)))


def build_release(
    *,
    repo: GitRepo,
    home: Path,
    config: DeliveryConfig,
    key: KeyPair,
    python: str,
    now: datetime,
    allow_dirty: bool,
    prod_release: Release | None,
) -> BuildOutput:
    """Build the current commit (or, with ``allow_dirty``, the working tree) into a release."""
    started = now
    commit = repo.head()
    dirty_paths = repo.dirty_paths()
    dirty = bool(dirty_paths)
    if dirty and not allow_dirty:
        raise AssertionError("caller must refuse dirty trees")  # pragma: no cover
    with tempfile.TemporaryDirectory(prefix="riskctl-build-") as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "src"
        if dirty:
            repo.export_worktree(source)
        else:
            repo.export_commit(commit.sha, source)
        lock_src = source / config.build.lock_file
        if not lock_src.is_file():
            raise UsageError(f"locked requirements {config.build.lock_file} not found in the tree")
        declared_src = source / config.declarations_file
        declarations = load_declarations(declared_src)
        wheel = build_wheel(python, source, tmp / "dist", commit.epoch)
        wheel_sha = sha256_file(wheel)
        lock_sha = sha256_file(lock_src)
        members = [(wheel.name, wheel_sha), (LOCK_NAME, lock_sha)]
        if declared_src.is_file():  # covered by the digest: no widening after the build
            members.append((DECLARATIONS_NAME, sha256_file(declared_src)))
        digest = content_digest(members)
        release_id = "rel-" + digest.removeprefix("sha256:")[:12]
        directory = home / "releases" / release_id
        if (directory / "release.json").exists():
            existing = json.loads((directory / "release.json").read_text(encoding="utf-8"))
            if existing.get("digest") == digest:
                return BuildOutput(
                    release_from_details(existing),
                    directory,
                    dict(existing.get("artifacts", {})),
                    existed=True,
                )
        staging = tmp / "release"
        staging.mkdir()
        shutil.copy2(wheel, staging / wheel.name)
        shutil.copy2(lock_src, staging / LOCK_NAME)
        if declared_src.is_file():
            shutil.copy2(declared_src, staging / DECLARATIONS_NAME)
        _archive_source(source, staging / "source.tar")

        base_release = prod_release.id if prod_release else None
        changed: list[str] | None = None
        if prod_release is not None and repo.has_commit(prod_release.commit):
            changed = repo.changed_files(prod_release.commit, worktree=dirty)
        change_class, calc_files = classify(changed, config.change_classes.calculation_paths)

        sbom = make_sbom(
            staging / LOCK_NAME,
            source / "pyproject.toml",
            staging / "sbom.cdx.json",
            epoch=commit.epoch,
            wheel_name=wheel.name,
            wheel_sha256=wheel_sha,
            digest=digest,
        )
        sbom_sha = sha256_file(sbom)
        stmt = statement(
            subjects={wheel.name: wheel_sha, LOCK_NAME: lock_sha},
            repository=repo.remote_url() or f"file://{repo.root.name}",
            commit=commit.sha,
            dirty=dirty,
            epoch=commit.epoch,
            builder_id=config.build.builder_id,
            builder_version=__version__,
            invocation_id=str(uuid.uuid4()),
            started=started,
            finished=datetime.now(UTC) if started.tzinfo else started,
            byproducts={"sbom.cdx.json": sbom_sha},
        )
        payload = json.dumps(stmt, sort_keys=True, separators=(",", ":")).encode()
        (staging / "provenance.intoto.json").write_bytes(payload)
        (staging / "provenance.dsse.json").write_bytes(dsse_sign(payload, key))

        release = Release(
            id=release_id,
            digest=digest,
            commit=commit.sha,
            author=commit.author,
            author_email=commit.email,
            version=_version_of(wheel),
            built_at=now,
            dirty=dirty,
            change_class=change_class,
            changed_files=tuple(changed or ()),
            calculation_files=calc_files,
            base_release=base_release,
            wheel=wheel.name,
            model_change_impact=declarations.model_change_impact,
            model_change_reason=declarations.model_change_reason,
            reversible=not declarations.irreversible,
            irreversible_reason=declarations.irreversible_reason,
        )
        artifacts = {
            name: sha256_file(staging / name)
            for name in (
                wheel.name,
                LOCK_NAME,
                "sbom.cdx.json",
                "provenance.intoto.json",
                "provenance.dsse.json",
                "source.tar",
                *([DECLARATIONS_NAME] if declared_src.is_file() else []),
            )
        }
        record = {**release_to_details(release), "artifacts": artifacts}
        (staging / "release.json").write_text(
            json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        sibling = sibling_staging(directory)
        try:
            shutil.copytree(staging, sibling, dirs_exist_ok=True)
            publish(sibling, directory)
        finally:
            shutil.rmtree(sibling, ignore_errors=True)
    return BuildOutput(release, directory, artifacts, existed=False)
