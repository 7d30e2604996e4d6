"""Oversized bodies get their 413 error body, read by a plain-socket client (no HTTP library)."""

from __future__ import annotations

import json
import socket
import time

import pytest

from risk_service.api.middleware import DRAIN_MAX_BYTES

from .conftest import LiveServer

pytestmark = pytest.mark.integration

#: What Python's urllib sends for a 21 MB upload: the whole body at once, no Expect header.
BODY_BYTES = 21 * 1000 * 1000


def _request(port: int, head: bytes, body_bytes: int) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` and ``body_bytes`` zero bytes without waiting for an answer (as urllib
    does), then read the response until the server closes; returns status, headers, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        chunk = b"0" * 65536
        sent = 0
        while sent < body_bytes:
            n = min(len(chunk), body_bytes - sent)
            sock.sendall(chunk[:n])  # a reset here (server closed early) fails the test
            sent += n
        received = b""
        while True:
            data = sock.recv(65536)  # ConnectionResetError here is the bug this file guards
            if not data:
                break
            received += data
            if b"\r\n\r\n" in received:
                head_part, _, rest = received.partition(b"\r\n\r\n")
                length = _headers(head_part).get("content-length")
                if length is not None and len(rest) >= int(length):
                    break
    head_part, _, rest = received.partition(b"\r\n\r\n")
    status = int(head_part.split(b" ", 2)[1])
    return status, _headers(head_part), rest


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _head(port: int, length: int, extra: str = "") -> bytes:
    return (
        f"POST /v1/var HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


def test_21_mb_body_without_expect_gets_the_413_error_body(dev_server: LiveServer) -> None:
    """A 21 MB body sent whole, without Expect: 100-continue, is answered 413 with the standard
    error body (not a connection reset)."""
    status, headers, body = _request(
        dev_server.port, _head(dev_server.port, BODY_BYTES), BODY_BYTES
    )
    assert status == 413
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "payload_too_large"
    assert "exceeds the limit" in error["message"]


def test_chunked_oversized_body_without_expect_gets_the_413_error_body(
    dev_server: LiveServer,
) -> None:
    """The same for a body sent in chunked encoding (no Content-Length): 413 and its body."""
    port = dev_server.port
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            f"POST /v1/var HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        piece = b"0" * 65536
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        for _ in range(6 * 1024 * 1024 // len(piece)):  # 6 MiB: over the 4 MiB limit
            sock.sendall(frame)
        sock.sendall(b"0\r\n\r\n")
        received = b""
        while b"payload_too_large" not in received:
            data = sock.recv(65536)
            if not data:
                break
            received += data
    assert received.startswith(b"HTTP/1.1 413 ")
    assert b'"code":"payload_too_large"' in received.replace(b" ", b"")


def test_a_body_declared_beyond_the_drain_bound_is_refused_at_once(
    dev_server: LiveServer,
) -> None:
    """Draining is bounded: a body declared larger than DRAIN_MAX_BYTES is not read at all; the
    413 comes back before a single body byte is sent."""
    port = dev_server.port
    start = time.monotonic()
    status, _, body = _request(port, _head(port, DRAIN_MAX_BYTES + 1), 0)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert time.monotonic() - start < 10  # answered, not waiting for 64 MiB that never come


def test_expect_continue_is_refused_without_reading_the_body(dev_server: LiveServer) -> None:
    """A client that asks Expect: 100-continue gets the 413 instead of a 100, and sends nothing."""
    port = dev_server.port
    status, _, body = _request(port, _head(port, BODY_BYTES, "Expect: 100-continue\r\n"), 0)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
