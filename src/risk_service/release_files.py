"""Which release is running, computed from its files (issue 8, finding 7).

riskctl installs each release into ``<release dir>/venv``, beside the release's wheel, its locked
requirements and (optionally) its declarations. The release's content digest is SHA-256 over a
manifest of those files' names and SHA-256s (``riskctl-release/v1``, the format
``riskctl.build.release.content_digest`` writes). The service recomputes it from the files at
start, so ``/version`` reports what is on disk — a swapped wheel shows — instead of repeating
the digest it was told in ``RISK_SERVICE_ARTIFACT_DIGEST``. That variable is now only the
digest riskctl *expects*: ``serve`` refuses to start when the files say otherwise.

Run from anywhere else (a development checkout, a container image without release files) the
digest is ``"unknown"``: nothing on disk vouches for one.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path

__all__ = [
    "UNKNOWN",
    "ReleaseMismatchError",
    "check_expected",
    "files_digest",
    "release_dir_of",
    "running_digest",
]

UNKNOWN = "unknown"
MANIFEST_HEADER = b"riskctl-release/v1\n"
LOCK_NAME = "requirements.lock"
DECLARATIONS_NAME = "release.toml"


class ReleaseMismatchError(ValueError):
    """The release files do not hash to the digest the service was started for."""


def release_dir_of(prefix: Path) -> Path | None:
    """The release directory holding the virtualenv ``prefix`` (``<release>/venv``), if any."""
    candidate = prefix.parent
    if prefix.name != "venv" or not (candidate / LOCK_NAME).is_file():
        return None
    return candidate if any(candidate.glob("*.whl")) else None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def files_digest(release_dir: Path) -> str:
    """``sha256:`` content digest of the wheel(s), lock and declarations in ``release_dir``."""
    names = sorted(p.name for p in release_dir.glob("*.whl"))
    names += [n for n in (LOCK_NAME, DECLARATIONS_NAME) if (release_dir / n).is_file()]
    manifest = MANIFEST_HEADER + b"".join(
        f"{name}\0{_sha256(release_dir / name)}\n".encode() for name in sorted(names)
    )
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def running_digest() -> str:
    """The digest of the release this interpreter runs from (hashed once per process)."""
    return _digest_of(sys.prefix)


@functools.cache
def _digest_of(prefix: str) -> str:
    release_dir = release_dir_of(Path(prefix))
    return files_digest(release_dir) if release_dir is not None else UNKNOWN


def check_expected(expected: str) -> str:
    """The running digest; raise when riskctl expected another one."""
    found = running_digest()
    if expected not in ("", UNKNOWN) and found not in (UNKNOWN, expected):
        raise ReleaseMismatchError(
            f"the release files hash to {found}, not the expected {expected}: "
            "a file of the release was changed; refusing to start"
        )
    return found
