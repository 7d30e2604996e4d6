"""Release files re-hashed against the audited digest at every use (issue 8, finding 7).

A release directory lives in ``$RISKCTL_HOME/releases`` where anyone who can write the home can
swap a file. So before a release's environment is built and before every start or command of
it, :func:`verify_release_files` recomputes the content digest from the files themselves — the
wheel, the lock and the declarations, as :func:`riskctl.build.release.content_digest` defines
it — and compares it with the digest the audit trail recorded (never with anything stored in
the directory). :func:`verify_installed` then checks the files the wheel installed into the
release's virtualenv against the verified wheel's own ``RECORD``.

Errors::

    DeployFailedError
    └── ReleaseTamperedError   the files are not the audited release
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

from riskctl.build.release import DECLARATIONS_NAME, LOCK_NAME, content_digest, sha256_file
from riskctl.errors import DeployFailedError

__all__ = [
    "DIGEST_VARIABLE",
    "ReleaseTamperedError",
    "audited_digest",
    "verify_installed",
    "verify_release_files",
]

#: The service variable that carries the audited digest of the release an instance runs.
DIGEST_VARIABLE = "RISK_SERVICE_ARTIFACT_DIGEST"


class ReleaseTamperedError(DeployFailedError):
    """A release's files do not hash to its audited digest."""


def audited_digest(variables: Mapping[str, str]) -> str:
    """The audited digest riskctl passed with an instance's variables (or refuse)."""
    digest = variables.get(DIGEST_VARIABLE, "")
    if not digest.startswith("sha256:"):
        raise ReleaseTamperedError(
            f"no audited digest to check the release against ({DIGEST_VARIABLE} missing)"
        )
    return digest


def verify_release_files(release_dir: Path, wheel: str, digest: str) -> None:
    """Raise unless ``release_dir``'s wheel, lock and declarations hash to ``digest``."""
    wheels = sorted(p.name for p in release_dir.glob("*.whl"))
    if wheels != [wheel]:
        raise ReleaseTamperedError(
            f"release directory {release_dir.name} holds wheels {wheels}, expected [{wheel!r}]"
        )
    members = []
    for name in (wheel, LOCK_NAME, DECLARATIONS_NAME):
        path = release_dir / name
        if path.is_file():
            members.append((name, sha256_file(path)))
        elif name != DECLARATIONS_NAME:
            raise ReleaseTamperedError(f"release directory {release_dir.name} lacks {name}")
    found = content_digest(members)
    if found != digest:
        raise ReleaseTamperedError(
            f"release {release_dir.name} refused: its files hash to {found}, not the audited "
            f"{digest} (a file in the release directory was changed)"
        )


def _record_of(wheel: Path) -> list[tuple[str, str]]:
    """(path, ``sha256=…`` urlsafe digest) of each file the wheel installs, from its RECORD."""
    with zipfile.ZipFile(wheel) as archive:
        record = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
        text = archive.read(record).decode("utf-8")
    return [(row[0], row[1]) for row in csv.reader(io.StringIO(text)) if len(row) >= 2 and row[1]]


def verify_installed(site_packages: Path, wheel: Path) -> None:
    """Raise unless every file ``wheel`` (already verified) installed under ``site_packages``
    still has the hash the wheel's RECORD gives it."""
    for entry, expected in _record_of(wheel):
        algorithm, _, value = expected.partition("=")
        rel, parts = entry, entry.split("/")
        if parts[0].endswith(".data"):
            # <name>.data/<scheme>/...: purelib/platlib land in site-packages; scripts, headers
            # and data elsewhere (their installed form is rewritten, e.g. script shebangs).
            if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                continue
            rel = "/".join(parts[2:])
        path = site_packages / rel
        try:
            data = path.read_bytes()
        except OSError:
            raise ReleaseTamperedError(f"installed file {rel} is missing") from None
        actual = base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=")
        if actual.decode() != value:
            raise ReleaseTamperedError(f"installed file {rel} differs from the release's wheel")
