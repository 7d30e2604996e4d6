"""API tokens: created once, stored only as SHA-256 hashes, checked by scope.

Tokens are 256-bit random strings, so a fast unsalted hash is enough to make the stored value
useless to a reader of the database (there is nothing to brute-force); the hash is also what the
lookup uses.

Scopes form a ladder: ``read`` reads stored runs; ``compute`` also calls the calculation
endpoints; ``admin`` may do everything, including reading the sample of recent requests (which
holds callers' positions). A scope this release does not know (written by a newer release sharing
the store) grants nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets

from sqlalchemy.orm import Session, sessionmaker

from risk_service.store import repository
from risk_service.store.errors import NotFoundError, StoreError
from risk_service.store.models import ApiToken

TOKEN_PREFIX = "rsk_"  # noqa: S105 - a prefix, not a secret


class Scope(enum.StrEnum):
    """What a token may do."""

    READ = "read"
    COMPUTE = "compute"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        """Whether a token of this scope may use an endpoint that needs ``needed``."""
        order = [Scope.READ, Scope.COMPUTE, Scope.ADMIN]
        return order.index(self) >= order.index(needed)


def parse_scope(stored: str) -> Scope | None:
    """The scope stored for a token, or ``None`` for one this release does not know.

    A newer release sharing the store may add scopes; an unknown one grants nothing here rather
    than failing the request.
    """
    try:
        return Scope(stored)
    except ValueError:
        return None


def hash_token(token: str) -> str:
    """The stored form of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(factory: sessionmaker[Session], name: str, scope: Scope) -> str:
    """Create a token called ``name``; returns the token (the only time it is visible)."""
    if not name.strip() or len(name) > 128:
        raise StoreError("a token name must be 1 to 128 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with factory() as session, session.begin():
        if repository.active_token_by_name(session, name) is not None:
            raise StoreError(f"an active token called {name!r} exists; revoke it first")
        session.add(
            ApiToken(
                name=name,
                scope=scope.value,
                token_sha256=hash_token(token),
                created_at=dt.datetime.now(dt.UTC),
            )
        )
    return token


def revoke_token(factory: sessionmaker[Session], name: str) -> None:
    """Revoke the active token called ``name``."""
    with factory() as session, session.begin():
        token = repository.active_token_by_name(session, name)
        if token is None:
            raise NotFoundError(f"no active token called {name!r}")
        token.revoked_at = dt.datetime.now(dt.UTC)


def token_scope(factory: sessionmaker[Session], token: str) -> Scope | None:
    """The scope of an active ``token``, or ``None`` if it is unknown or revoked."""
    with factory() as session:
        found = repository.active_token(session, hash_token(token))
        return parse_scope(found.scope) if found is not None else None
