"""Which audit store a RISKCTL_DATABASE_URL names (riskctl.audit.stores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskctl.audit.sqlite import SqliteAuditStore
from riskctl.audit.stores import open_store, store_url_kind
from riskctl.errors import UsageError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, ("sqlite", "")),
        ("", ("sqlite", "")),
        ("sqlite:////var/lib/riskctl/audit.db", ("sqlite", "/var/lib/riskctl/audit.db")),
        ("postgresql://u@db/audit", ("postgresql", "postgresql+psycopg://u@db/audit")),
        ("postgres://u@db/audit", ("postgresql", "postgresql+psycopg://u@db/audit")),
        ("postgresql+psycopg://u@db/audit", ("postgresql", "postgresql+psycopg://u@db/audit")),
    ],
)
def test_store_urls(url: str | None, expected: tuple[str, str]) -> None:
    """Unset means SQLite in the home; postgres URLs are normalised to the psycopg driver."""
    assert store_url_kind(url) == expected


@pytest.mark.parametrize(
    "url", ["mysql://u@db/audit", "sqlite://relative.db", "file:///tmp/a", "postgresql"]
)
def test_other_urls_are_usage_errors(url: str) -> None:
    """Any other scheme (or a relative sqlite URL) is refused with a usage error (exit 2)."""
    with pytest.raises(UsageError, match="postgresql:// or sqlite:///"):
        store_url_kind(url)


def test_sqlite_by_default_lives_in_the_home(tmp_path: Path) -> None:
    """Without a URL the store is `audit.sqlite` under the home."""
    store = open_store(tmp_path, None)
    try:
        assert isinstance(store, SqliteAuditStore)
        assert (tmp_path / "audit.sqlite").exists()
    finally:
        store.close()
