"""The tamper-evident audit trail: Merkle tree, stores and the log that signs and verifies."""

from riskctl.audit.log import AuditLog, Record, VerifyReport
from riskctl.audit.store import AuditStore, StoredCheckpoint, StoredCosignature, StoredEntry

__all__ = [
    "AuditLog",
    "AuditStore",
    "Record",
    "StoredCheckpoint",
    "StoredCosignature",
    "StoredEntry",
    "VerifyReport",
]
