"""A short way through FastAPI for the plain ``POST /v1/portfolio/var``.

The service's busiest request is a valid book over stored market data. FastAPI spends about as
much per request on its generic machinery (route matching, the dependency graph, the exit stacks,
the request object) as the engine spends on the book; this ASGI middleware answers that request
with the route's own pieces, called directly and in FastAPI's order:

* the body parsed with ``json.loads`` and validated by the route's own body field (pydantic, the
  same ``validate_python``), after the same JSON content-type test;
* the route's dependencies: the token check, only when no token is enforced or the bearer token's
  scope is already cached and allows computing (no store read here), and the shared context;
* :func:`risk_service.api.risk.portfolio` itself, then the route's response field: the same
  validation, the same pydantic-core JSON bytes, the same ``Response`` and headers.

Anything else — an invalid or unusual body, a token to look up or refuse, any error raised while
answering, dependency overrides, a mounted app — goes the ordinary FastAPI way with the body
replayed, so every error answer is FastAPI's own (an error path may compute twice; an answer
never differs). ``tests/service/test_hot_path.py`` compares both ways byte for byte.
"""

from __future__ import annotations

import email.message
import json

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from risk_service.api import risk
from risk_service.api.context import Context, context
from risk_service.auth import Scope as TokenScope
from risk_service.auth import TokenCache

PATH = "/v1/portfolio/var"


def _json_media(content_type: str | None) -> bool:
    """FastAPI's test of whether a body is parsed as JSON (its email.message reading)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


class HotPath:
    """ASGI middleware answering plain ``POST /v1/portfolio/var`` requests (see the module)."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI) -> None:
        self.app = app
        self.fastapi = fastapi
        self._route: APIRoute | None = None

    def _find_route(self) -> APIRoute | None:
        """The route as FastAPI serves it (``scope["route"]`` is this very object): included
        without a prefix or dependencies of its own, its dependencies the token check and the
        context. Otherwise the short way is not taken at all."""
        if self._route is None and not self.fastapi.router.dependencies:
            for route in risk.router.routes:
                if (
                    isinstance(route, APIRoute)
                    and route.path == PATH
                    and route.methods == {"POST"}
                    and route.endpoint is risk.portfolio
                    and [d.call for d in route.dependant.dependencies][1:] == [context]
                    and len(route.dependant.dependencies) == 2
                ):
                    self._route = route
        return self._route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or scope.get("path") != PATH
            or scope.get("root_path")
            or self.fastapi.dependency_overrides
            or not getattr(self.fastapi.state, "hot_path", True)  # tests compare both ways
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # a disconnect: FastAPI's way sees it too
                await self.app(scope, _replay(b"".join(chunks), receive, message), send)
                return
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        response = await self._answer(scope, body)
        if response is None:
            await self.app(scope, _replay(body, receive, None), send)
            return
        await response(scope, _replay(b"", receive, None), send)

    async def _answer(self, scope: Scope, body: bytes) -> Response | None:
        """The response, or None to go FastAPI's way."""
        route = self._find_route()
        if route is None or route.response_field is None or not body:
            return None
        params = route.dependant.body_params
        if len(params) != 1 or getattr(route, "_embed_body_fields", False):
            return None
        headers = dict(_headers(scope))
        if not _json_media(headers.get("content-type")) or not _allowed(
            self.fastapi, headers.get("authorization")
        ):
            return None
        ctx: Context = self.fastapi.state.context
        try:
            request, errors = params[0].validate(json.loads(body), {}, loc=("body",))
            if errors:
                return None
            answer = await risk.portfolio(request, ctx)
            value, errors = route.response_field.validate(answer, {}, loc=("response",))
            if errors:
                return None
            content = route.response_field.serialize_json(
                value,
                include=route.response_model_include,
                exclude=route.response_model_exclude,
                by_alias=route.response_model_by_alias,
                exclude_unset=route.response_model_exclude_unset,
                exclude_defaults=route.response_model_exclude_defaults,
                exclude_none=route.response_model_exclude_none,
            )
        except Exception:  # every error is answered FastAPI's way
            return None
        scope["route"] = route  # what the access log and the metrics label requests by
        return Response(content=content, media_type="application/json", status_code=200)


def _headers(scope: Scope) -> list[tuple[str, str]]:
    """The request headers, lower-case names, latin-1 decoded, first occurrence kept."""
    seen: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        name = bytes(key).decode("latin-1").lower()
        seen.setdefault(name, bytes(value).decode("latin-1"))
    return list(seen.items())


def _allowed(app: FastAPI, authorization: str | None) -> bool:
    """Whether the route's token check passes without a store read (as ``auth.require`` would
    decide it; any other outcome is left to it)."""
    tokens: TokenCache = app.state.tokens
    if not tokens.enforce:
        return True
    if not authorization:
        return False
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        found = tokens.cached(token.strip())
    except Exception:  # the check's own way reports it
        return False
    return found is not None and found.allows(TokenScope.COMPUTE)


def _replay(body: bytes, receive: Receive, pending: Message | None) -> Receive:
    """A receive that gives ``body`` once (then ``pending``, if any), then the real one."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent, pending
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": pending is not None}
        if pending is not None:
            message, pending = pending, None
            return message
        return await receive()

    return replayed


__all__ = ["PATH", "HotPath"]
