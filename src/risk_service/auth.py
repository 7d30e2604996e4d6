"""API tokens: created once, stored only as SHA-256 hashes, checked by scope.

Tokens are 256-bit random strings, so a fast unsalted hash is enough to make the stored value
useless to a reader of the database (there is nothing to brute-force); the hash is also what the
lookup uses.

Scopes form a ladder: ``read`` reads stored runs; ``compute`` also calls the calculation
endpoints; ``admin`` may do everything, including reading the sample of recent requests (which
holds callers' positions). A scope this release does not know (written by a newer release sharing
the store) grants nothing.

The API checks tokens with :func:`require` through a :class:`TokenCache` (the application keeps
it at ``app.state.tokens``), so a request does not hash its token and ask the store each time.
The web stack is imported inside :func:`require` only: the ``risk-service`` CLI imports this module
and must stay light (and must not load prometheus-client before ``serve`` configures it). For that
reason this module does not use ``from __future__ import annotations``: FastAPI reads the
annotations of the dependency ``require`` builds, and they must be objects, not names to look up
in this module.
"""

import datetime as dt
import enum
import hashlib
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

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

    def allows(self, needed: "Scope") -> bool:
        """Whether a token of this scope may use an endpoint that needs ``needed``."""
        order = [Scope.READ, Scope.COMPUTE, Scope.ADMIN]
        return order.index(self) >= order.index(needed)


def parse_scope(stored: str) -> "Scope | None":
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


class TokenCache:
    """Token hash -> scope, re-checked against the store after ``ttl`` seconds.

    ``enforce`` is whether this environment needs tokens at all (staging and prod).
    """

    def __init__(
        self, factory: sessionmaker[Session], *, enforce: bool = True, ttl: float = 5.0
    ) -> None:
        self.enforce = enforce
        self._factory = factory
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Scope | None]] = {}

    def cached(self, token: str) -> Scope | None:
        """The scope of an active token seen within ``ttl`` (no store access); else ``None``."""
        with self._lock:
            hit = self._entries.get(hash_token(token))
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        return None

    def scope(self, token: str) -> Scope | None:
        """Scope of an active token (``None`` if unknown or revoked)."""
        digest = hash_token(token)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(digest)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        with self._factory() as session:
            found = repository.active_token(session, digest)
            scope = parse_scope(found.scope) if found is not None else None
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (now, scope)
        return scope


def require(needed: Scope) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency: in environments that enforce tokens, the request's bearer token must
    be active and its scope must allow ``needed`` (401 missing or unknown, 403 wrong scope)."""
    # The web stack, here only: see the module docstring.
    from fastapi import Header, Request  # noqa: PLC0415
    from starlette.concurrency import run_in_threadpool  # noqa: PLC0415

    from risk_service.api.errors import ApiError, store_unavailable  # noqa: PLC0415

    challenge = {"WWW-Authenticate": "Bearer"}

    async def check(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> None:
        tokens: TokenCache = request.app.state.tokens
        if not tokens.enforce:
            return
        if not authorization:
            raise ApiError(401, "unauthorized", "missing bearer token", None, challenge)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401, "unauthorized", "expected 'Authorization: Bearer <token>'", None, challenge
            )
        with store_unavailable("token store"):
            scope = tokens.cached(token.strip())
            if scope is None:  # not seen lately: ask the store, off the event loop
                scope = await run_in_threadpool(tokens.scope, token.strip())
        if scope is None:
            raise ApiError(401, "unauthorized", "unknown or revoked token", None, challenge)
        if not scope.allows(needed):
            raise ApiError(
                403, "forbidden", f"this token's scope {scope.value!r} does not allow this"
            )

    return check
