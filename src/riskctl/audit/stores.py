"""Opening the audit trail: which store a URL names, and the signed log over it with its anchors.

``RISKCTL_DATABASE_URL`` unset means SQLite under the home; ``postgresql://`` (or ``postgres://``)
means PostgreSQL; ``sqlite:///PATH`` a SQLite file elsewhere. Anything else is a usage error.
"""

from __future__ import annotations

from pathlib import Path

from riskctl.audit import anchors as audit_anchors
from riskctl.audit.log import AuditLog
from riskctl.audit.store import AuditStore
from riskctl.config import AuditAnchors
from riskctl.errors import UsageError

__all__ = ["open_audit_log", "open_store", "store_url_kind"]


def store_url_kind(url: str | None) -> tuple[str, str]:
    """``(kind, location)`` for a store URL: ``("sqlite", "")`` for the home's default file,
    ``("sqlite", path)`` or ``("postgresql", sqlalchemy_url)``; :class:`UsageError` otherwise."""
    if not url:
        return "sqlite", ""
    if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        normalised = url.replace("postgres://", "postgresql://", 1)
        if normalised.startswith("postgresql://"):
            normalised = normalised.replace("postgresql://", "postgresql+psycopg://", 1)
        return "postgresql", normalised
    if url.startswith("sqlite:///"):
        return "sqlite", url.removeprefix("sqlite:///")
    raise UsageError("RISKCTL_DATABASE_URL must be a postgresql:// or sqlite:/// URL")


def open_store(home: Path, url: str | None) -> AuditStore:
    """SQLite under ``home`` by default; PostgreSQL when ``url`` says so."""
    kind, location = store_url_kind(url)
    if kind == "postgresql":
        from riskctl.audit.postgres import PostgresAuditStore  # noqa: PLC0415 - psycopg on demand

        return PostgresAuditStore(location)
    from riskctl.audit.sqlite import SqliteAuditStore  # noqa: PLC0415

    return SqliteAuditStore(Path(location) if location else home / "audit.sqlite")


def open_audit_log(home: Path, url: str | None, pins: AuditAnchors) -> AuditLog:
    """The signed log over the store ``url`` names, under the pinned audit key and witnesses.

    A PostgreSQL store is checked for readiness first; when witnesses are pinned, what they
    remember is checked before any decision folds the trail.
    """
    store = open_store(home, url)
    if store_url_kind(url)[0] == "postgresql":
        from riskctl.audit.postgres import PostgresAuditStore  # noqa: PLC0415

        if isinstance(store, PostgresAuditStore):
            store.check_ready()
    anchors = audit_anchors.anchors_from_policy(pins)
    audit_key = audit_anchors.open_audit_key(home / "keys", anchors)
    audit = AuditLog(store, audit_key, home / "checkpoints.jsonl")
    if anchors.witnesses:
        signer = anchors.log or audit_anchors.log_verifier(audit_key)
        audit.outside = audit_anchors.WitnessViews(anchors, signer)
    return audit
