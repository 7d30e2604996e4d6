"""Publishing a directory atomically (issue 8, finding 10): it is assembled in a hidden sibling
(same filesystem) and renamed into place, so a crash never leaves a half-written release where
readers look. A move across filesystems (``shutil.move`` from the system temp directory) copies
file by file, which is what this replaces.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

__all__ = ["publish", "sibling_staging"]


def sibling_staging(final: Path) -> Path:
    """A fresh hidden directory beside ``final`` to assemble it in."""
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))


def _fsync_tree(root: Path) -> None:
    # The files' data must be on disk before the rename makes them visible.
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(staging: Path, final: Path) -> None:
    """Rename ``staging`` (made by :func:`sibling_staging`) to ``final``, replacing whatever
    was there (e.g. a directory a crash left incomplete)."""
    if staging.parent != final.parent:
        raise ValueError("staging must be a sibling of the final directory (same filesystem)")
    _fsync_tree(staging)
    if not final.exists():
        os.rename(staging, final)
        return
    retired = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(final, retired)
    os.rename(staging, final)
    shutil.rmtree(retired, ignore_errors=True)
