"""The audit store boundary: an append-only table of entries and one of signed checkpoints.

Implementations: :mod:`riskctl.audit.sqlite` (default, a file under ``$RISKCTL_HOME``) and
:mod:`riskctl.audit.postgres` (``RISKCTL_DATABASE_URL``). Integrity does not rest on the store:
:class:`riskctl.audit.log.AuditLog` signs entries and checkpoints and verifies them on read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["AuditStore", "StoredCheckpoint", "StoredCosignature", "StoredEntry"]


@dataclass(frozen=True)
class StoredEntry:
    """One row: ``seq`` (1-based), canonical JSON ``body``, its leaf hash and signature."""

    seq: int
    body: str
    leaf_hash: str
    key_id: str
    signature: str


@dataclass(frozen=True)
class StoredCheckpoint:
    """A signed tree head: the root of the first ``tree_size`` entries."""

    tree_size: int
    root_hash: str
    created_at: str
    key_id: str
    signature: str


@dataclass(frozen=True)
class StoredCosignature:
    """A witness's cosignature line (C2SP tlog-cosignature) on the checkpoint ``tree_size``."""

    tree_size: int
    root_hash: str
    witness: str
    line: str


class AuditStore(Protocol):
    """Where entries and checkpoints live."""

    description: str

    def append(self, make: Callable[[int], Sequence[StoredEntry]]) -> list[StoredEntry]:
        """In one transaction: read the current size ``n``, insert ``make(n)``, commit."""
        ...

    def entries(self) -> list[StoredEntry]:
        """All entries ordered by ``seq``."""
        ...

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None: ...

    def checkpoints(self) -> list[StoredCheckpoint]:
        """All checkpoints ordered by tree size."""
        ...

    def add_cosignature(self, cosignature: StoredCosignature) -> None: ...

    def cosignatures(self) -> list[StoredCosignature]:
        """All stored cosignatures ordered by tree size."""
        ...

    def close(self) -> None: ...
