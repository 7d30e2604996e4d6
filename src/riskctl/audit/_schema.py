"""The audit store's one schema and its literal statements, shared by both stores.

PostgreSQL goes through SQLAlchemy (:mod:`riskctl.audit._sql`); the default SQLite file through
the standard library (:mod:`riskctl.audit.sqlite`), which keeps SQLAlchemy's ~0.25 s import off
``riskctl abort``'s path (issue 11, item 4). Both read and write these same tables with these
same statements (named ``:parameters`` suit both), so there is one store format.
"""

from __future__ import annotations

__all__ = [
    "CHECKPOINT_TABLE",
    "COSIGNATURE_TABLE",
    "CREATE_CHECKPOINTS",
    "CREATE_COSIGNATURES",
    "CREATE_ENTRIES",
    "ENTRY_TABLE",
    "INSERT_CHECKPOINT",
    "INSERT_COSIGNATURE",
    "INSERT_ENTRY",
    "RETRIES",
    "SELECT_CHECKPOINTS",
    "SELECT_COSIGNATURES",
    "SELECT_ENTRIES",
    "SIZE",
]

ENTRY_TABLE = "riskctl_audit_entry"
CHECKPOINT_TABLE = "riskctl_audit_checkpoint"
COSIGNATURE_TABLE = "riskctl_audit_cosignature"

CREATE_ENTRIES = f"""
CREATE TABLE IF NOT EXISTS {ENTRY_TABLE} (
    seq BIGINT PRIMARY KEY,
    body TEXT NOT NULL,
    leaf_hash VARCHAR(64) NOT NULL,
    key_id VARCHAR(32) NOT NULL,
    signature TEXT NOT NULL
)"""
CREATE_CHECKPOINTS = f"""
CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} (
    tree_size BIGINT NOT NULL,
    root_hash VARCHAR(64) NOT NULL,
    created_at VARCHAR(40) NOT NULL,
    key_id VARCHAR(32) NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (tree_size, root_hash)
)"""

# Witness cosignatures verify on their own (the witness's pinned key), so this table needs no
# integrity of its own; it keeps them beside the checkpoints they cosign.
CREATE_COSIGNATURES = f"""
CREATE TABLE IF NOT EXISTS {COSIGNATURE_TABLE} (
    tree_size BIGINT NOT NULL,
    root_hash VARCHAR(64) NOT NULL,
    witness VARCHAR(200) NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (tree_size, root_hash, witness)
)"""

RETRIES = 5

# Literal statements (table names are constants, values are bound parameters).
SIZE = "SELECT COALESCE(MAX(seq), 0) FROM riskctl_audit_entry"
INSERT_ENTRY = (
    "INSERT INTO riskctl_audit_entry (seq, body, leaf_hash, key_id, signature) "
    "VALUES (:seq, :body, :leaf_hash, :key_id, :signature)"
)
SELECT_ENTRIES = (
    "SELECT seq, body, leaf_hash, key_id, signature FROM riskctl_audit_entry ORDER BY seq"
)
INSERT_CHECKPOINT = (
    "INSERT INTO riskctl_audit_checkpoint (tree_size, root_hash, created_at, key_id, signature) "
    "VALUES (:tree_size, :root_hash, :created_at, :key_id, :signature)"
)
SELECT_CHECKPOINTS = (
    "SELECT tree_size, root_hash, created_at, key_id, signature "
    "FROM riskctl_audit_checkpoint ORDER BY tree_size, created_at"
)
INSERT_COSIGNATURE = (
    "INSERT INTO riskctl_audit_cosignature (tree_size, root_hash, witness, line) "
    "VALUES (:tree_size, :root_hash, :witness, :line)"
)
SELECT_COSIGNATURES = (
    "SELECT tree_size, root_hash, witness, line FROM riskctl_audit_cosignature "
    "ORDER BY tree_size, witness"
)
