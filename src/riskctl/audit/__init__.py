"""The tamper-evident audit trail: Merkle tree, stores and the log that signs and verifies."""

from riskctl.audit.actions import Action, UnknownActionError
from riskctl.audit.log import AuditLog, Record, VerifyReport
from riskctl.audit.store import AuditStore, StoredCheckpoint, StoredCosignature, StoredEntry

__all__ = [
    "Action",
    "AuditLog",
    "AuditStore",
    "Record",
    "StoredCheckpoint",
    "StoredCosignature",
    "StoredEntry",
    "UnknownActionError",
    "VerifyReport",
]
