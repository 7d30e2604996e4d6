"""A transparency-log witness for the audit trail (``riskctl witness serve``), in the manner of
C2SP tlog-witness: :mod:`.core` decides, :mod:`.server` speaks HTTP, :mod:`.client` asks."""

from riskctl.witness.core import Reply, Witness

__all__ = ["Reply", "Witness"]
