"""The short way through FastAPI for ``POST /v1/portfolio/var`` (api/hot_path.py) answers
byte for byte as the ordinary FastAPI way: valid books, hostile bodies, and tokens."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from risk_service.api import create_app, hot_path
from risk_service.auth import Scope, create_token
from risk_service.marketdata.synthetic import universe
from risk_service.store import database

from .conftest import SPEC, settings_for

pytestmark = pytest.mark.integration

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
SYMBOLS = universe(SPEC).symbols


def call(app: FastAPI, body: bytes, headers: dict[str, str] | None = None) -> Answer:
    """One POST /v1/portfolio/var through the whole ASGI app, in-process."""
    sent: list[dict[str, Any]] = []
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": hot_path.PATH,
        "raw_path": hot_path.PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [*raw, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    given = False

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(5)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    headers_out = [(k, v) for k, v in start["headers"] if k != b"x-request-id"]
    return start["status"], headers_out, b"".join(m.get("body", b"") for m in sent[1:])


def both_ways(app: FastAPI, body: bytes, headers: dict[str, str] | None = None) -> Answer:
    """The answer the short way and FastAPI's way, which must be the same bytes."""
    app.state.hot_path = True
    short = call(app, body, headers)
    app.state.hot_path = False
    try:
        ordinary = call(app, body, headers)
    finally:
        app.state.hot_path = True
    assert short == ordinary
    return short


@pytest.fixture(scope="module")
def app(seeded_url: str) -> FastAPI:
    """The dev app over the seeded store."""
    return create_app(settings_for(seeded_url))


JSON = {"content-type": "application/json"}


def books() -> Iterator[dict[str, Any]]:
    """Valid requests: stored data (several methods, windows, horizons) and inline returns."""
    book = {SYMBOLS[0]: 1e6, SYMBOLS[5]: -3.5e5, SYMBOLS[9]: 1.25e5, SYMBOLS[12]: 7.5e5}
    yield {"positions": book}
    yield {"positions": book, "confidence": 0.95, "window": 120}
    yield {"positions": book, "horizon_days": 10}
    yield {"positions": book, "method": "parametric"}
    yield {"positions": book, "method": "monte_carlo", "seed": 3}
    yield {"positions": book, "as_of": "2026-11-20", "window": 120}
    yield {"positions": {"A": 1.0, "B": -2.0}, "returns": {"A": [0.01, -0.02, 0.03] * 40,
           "B": [0.02, 0.01, -0.04] * 40}, "confidence": 0.9}  # fmt: skip


def test_valid_requests_answer_the_same_bytes(app: FastAPI) -> None:
    """Every valid request: status, headers (but the request id) and body are FastAPI's."""
    for body in books():
        status, headers, content = both_ways(app, json.dumps(body).encode(), JSON)
        assert status == 200, content
        assert (b"content-type", b"application/json") in headers
        assert json.loads(content)["portfolio_var"] > 0


@pytest.mark.parametrize(
    ("raw", "headers"),
    [
        (b'{"positions": {"EQ00000": 1e6}', JSON),  # truncated JSON
        (b"[1, 2]", JSON),
        (b'{"positions": {}}', JSON),
        (b'{"positions": {"EQ00000": NaN}}', JSON),
        (b'{"positions": {"EQ00000": 1e400}}', JSON),
        (b'{"positions": {"EQ00000": "1e6"}}', JSON),
        (b'{"positions": {"EQ00000": true}}', JSON),
        (b'{"positions": {"EQ00000": 1e6}, "extra": 1}', JSON),
        (b'{"positions": {"EQ00000": 1e6}, "horizon_days": 1.0}', JSON),
        (b'{"positions": {"EQ00000": 1e6}, "confidence": 1.5}', JSON),
        (b'{"positions": {"ZZZ": 1e6}}', JSON),
        (b'{"positions": {"EQ00000": 1e6}, "window": 9999}', JSON),
        (b'{"positions": {"EQ00000": 1e6}, "as_of": "1999-01-04"}', JSON),
        (b'{"positions": {"A": 1}, "returns": {"A": [0.1, 0.2]}, "window": 5}', JSON),
        (b'{"positions": {"EQ00000": 1e6, "EQ00000": -1e6}}', JSON),  # duplicate key
        (b'{"positions": {"EQ00000": 1e6}}', {"content-type": "text/plain"}),
        (b'{"positions": {"EQ00000": 1e6}}', {"content-type": "application/merge-patch+json"}),
        (b'{"positions": {"EQ00000": 1e6}}', {}),
        (b"", JSON),
    ],
)
def test_hostile_bodies_get_fastapis_own_answer(
    app: FastAPI, raw: bytes, headers: dict[str, str]
) -> None:
    """Bad or unusual bodies are answered by FastAPI's way, never a traceback, byte for byte."""
    status, _, content = both_ways(app, raw, headers)
    assert status < 500, content


def test_tokens_are_checked_as_the_route_checks_them(seeded_url: str) -> None:
    """Where tokens are enforced: missing, malformed, unknown and read-only tokens get the
    route's 401/403; a compute token is answered, the first time (store lookup) and once cached
    (the short way), with the same bytes."""
    engine = database.make_engine(seeded_url)
    factory = database.session_factory(engine)
    compute = create_token(factory, "hot-path-compute", Scope.COMPUTE)
    read = create_token(factory, "hot-path-read", Scope.READ)
    engine.dispose()
    prod = create_app(settings_for(seeded_url, "prod"))
    body = json.dumps({"positions": {SYMBOLS[0]: 1e6, SYMBOLS[3]: 2e5}}).encode()
    cases = [
        ({}, 401),
        ({"authorization": "Basic abc"}, 401),
        ({"authorization": "Bearer rsk_unknown"}, 401),
        ({"authorization": f"Bearer {read}"}, 403),
        ({"authorization": f"bearer {compute}"}, 200),
        ({"authorization": f"Bearer {compute}"}, 200),
    ]
    for extra, want in cases:
        status, _, content = both_ways(prod, body, {**JSON, **extra})
        assert status == want, content
        if want != 200:
            assert json.loads(content)["error"]["code"] in {"unauthorized", "forbidden"}


def test_the_short_way_is_taken_and_labels_the_route(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid book is answered without FastAPI's routing (so the comparison above compares two
    different ways), and the request still carries the route its metrics and log are labelled by."""
    seen: list[Any] = []
    original = hot_path.HotPath._answer

    async def spy(self: hot_path.HotPath, scope: dict[str, Any], body: bytes) -> Any:
        answer = await original(self, scope, body)
        seen.append((answer is not None, getattr(scope.get("route"), "path", None)))
        return answer

    monkeypatch.setattr(hot_path.HotPath, "_answer", spy)
    body = json.dumps({"positions": {SYMBOLS[1]: 5e5}}).encode()
    assert call(app, body, JSON)[0] == 200
    assert call(app, b'{"positions": {}}', JSON)[0] == 422
    assert seen == [(True, hot_path.PATH), (False, None)]


def test_overridden_dependencies_turn_the_short_way_off(seeded_url: str) -> None:
    """With a dependency override (tests do this) every request goes FastAPI's way."""
    from risk_service.api import context  # noqa: PLC0415

    app = create_app(settings_for(seeded_url))
    real = app.state.context

    async def other() -> Any:
        return real

    app.dependency_overrides[context.context] = other
    taken: list[bool] = []
    original = hot_path.HotPath._answer

    async def spy(self: hot_path.HotPath, scope: dict[str, Any], body: bytes) -> Any:
        taken.append(True)
        return await original(self, scope, body)

    hot_path.HotPath._answer = spy  # type: ignore[method-assign]
    try:
        status, _, _ = call(app, json.dumps({"positions": {SYMBOLS[1]: 5e5}}).encode(), JSON)
    finally:
        hot_path.HotPath._answer = original  # type: ignore[method-assign]
    assert status == 200
    assert taken == []
