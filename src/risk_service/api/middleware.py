"""ASGI middleware: request id, access log, metrics, bounded bodies, JSON-only bodies, and the
sample of recent requests.

The body is read here, up to the limit, before the application sees it: a body over the limit is
answered 413 without being buffered further, whether or not the client sent ``Content-Length``.
Before that answer the rest of the body is read and discarded, up to ``DRAIN_MAX_BYTES``: a client
that sends its whole body without waiting for ``Expect: 100-continue`` (Python's urllib does) would
otherwise have its unread bytes answered by a TCP reset from the closing socket instead of the 413.
A body declared larger than that bound, or sent after ``Expect: 100-continue``, is not drained.
After the response has been sent, a calculation request may be offered to the
:class:`~risk_service.api.sampling.RequestSampler` (which never raises and never blocks).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from risk_service.api.errors import error_body
from risk_service.api.metrics import LATENCY, REJECTED, REQUESTS
from risk_service.api.sampling import RequestSampler
from risk_service.logs import get_logger

log = get_logger("risk_service.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: At most this much of an oversized body is read (and discarded) so that its 413 is received.
DRAIN_MAX_BYTES = 64 * 1024 * 1024
_BODY_METHODS = {"POST", "PUT", "PATCH"}


# A request id only has to be unique, not secret: a random prefix per process and a counter cost
# no getrandom() call per request (uuid4 did; it showed in the profile under load).
_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count()


def _new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _send_error(send: Send, status: int, code: str, message: str, request_id: str) -> None:
    REJECTED.labels(code=code).inc()
    body = json.dumps(error_body(code, message, None)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _expects_continue(scope: Scope) -> bool:
    return (_header(scope, b"expect") or "").strip().lower() == "100-continue"


async def _drain(receive: Receive, size: int) -> None:
    """Read and discard the rest of a request body, up to ``DRAIN_MAX_BYTES`` in all."""
    while size <= DRAIN_MAX_BYTES:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class RequestMiddleware:
    """Everything done around each HTTP request."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, sampler: RequestSampler | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.sampler = sampler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        supplied = _header(scope, b"x-request-id")
        request_id = supplied if supplied and _REQUEST_ID.match(supplied) else _new_request_id()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        method = str(scope.get("method", "GET"))
        path = str(scope.get("path", ""))
        status_holder: dict[str, int] = {"status": 500}
        sampler = self.sampler
        if sampler is not None and not sampler.wants(method, path, scope.get("headers", [])):
            sampler = None
        received_at = dt.datetime.now(dt.UTC)
        body = b""
        completed = False

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            refused = await self._refuse(scope, receive, method)
            if refused is not None:
                status, code, text, body_receive, body = refused
                if status:
                    status_holder["status"] = status
                    await _send_error(send, status, code, text, request_id)
                    return
                receive = body_receive
            await self.app(scope, receive, send_wrapper)
            completed = True
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            status = status_holder["status"]
            REQUESTS.labels(method=method, route=template, status=str(status)).inc()
            LATENCY.labels(method=method, route=template).observe(elapsed)
            log.info(
                "request",
                method=method,
                path=path,
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000.0, 3),
                client=(scope.get("client") or ("", 0))[0],
            )
            if sampler is not None and completed:
                # The response is out; this only counts and, for one request in N, queues a write.
                sampler.offer(method, path, body, status, received_at)
            structlog.contextvars.clear_contextvars()

    async def _refuse(
        self, scope: Scope, receive: Receive, method: str
    ) -> tuple[int, str, str, Receive, bytes] | None:
        """Read a request body within the limit; returns an error to send, or a replay receive
        and the body."""
        if method not in _BODY_METHODS:
            return None
        length = _header(scope, b"content-length")
        limit = self.max_body_bytes
        too_large = f"request body exceeds the limit of {limit} bytes"
        if length is not None:
            if not length.isdigit():
                return 400, "bad_request", "invalid Content-Length header", receive, b""
            if int(length) > limit:
                if int(length) <= DRAIN_MAX_BYTES and not _expects_continue(scope):
                    await _drain(receive, 0)
                return 413, "payload_too_large", too_large, receive, b""
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            more = bool(message.get("more_body", False))
            if size > limit:
                if more:
                    await _drain(receive, size)
                return 413, "payload_too_large", too_large, receive, b""
            chunks.append(chunk)
        body = b"".join(chunks)
        if body and not _is_json(_header(scope, b"content-type")):
            return (
                415,
                "unsupported_media_type",
                "request bodies must be JSON (Content-Type: application/json)",
                receive,
                b"",
            )
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return 0, "", "", replay, body
