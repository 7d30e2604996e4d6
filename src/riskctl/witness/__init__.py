"""A transparency-log witness for the audit trail (``riskctl witness serve``), in the manner of
C2SP tlog-witness: :mod:`.core` decides, :mod:`.server` speaks HTTP, :mod:`.client` asks.

The names below load on first use, so ``riskctl`` registers the ``witness`` command group
without importing the witness (and its crypto) on every start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskctl.witness.core import Reply, Witness

__all__ = ["Reply", "Witness"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from riskctl.witness import core  # noqa: PLC0415

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
