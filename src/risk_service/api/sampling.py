"""A bounded sample of recent real calculation requests, for riskctl's shadow replay (SPEC §4).

Before a new release takes traffic, riskctl replays some of these to the stable and the new
release and compares the answers, besides its pinned golden set. What is kept: one in
``every`` successful (2xx) ``POST /v1/var`` and ``POST /v1/portfolio/var`` with a JSON object
body of at most ``max_bytes``; never riskctl's own traffic (``X-Riskctl-Shadow``: the replay
itself and the golden set; ``X-Riskctl-Load``: synthetic analysis load). The store keeps the
newest ``keep`` rows.

Recording never fails or slows a request: the decision is a counter, and the write runs on one
background thread after the response has been sent. A failed write is logged (without the body
or any header) and dropped; so are writes beyond :data:`MAX_PENDING` while the store is slow.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from risk_service.logs import get_logger
from risk_service.store import database, repository

__all__ = [
    "LOAD_HEADER",
    "MAX_PENDING",
    "SAMPLED_PATHS",
    "SHADOW_HEADER",
    "RequestSampler",
    "flush",
]

log = get_logger("risk_service.sampling")

#: The endpoints whose requests are sampled.
SAMPLED_PATHS = frozenset({"/v1/var", "/v1/portfolio/var"})
#: Sent by riskctl's shadow comparison (golden set and replay); such requests are not sampled.
SHADOW_HEADER = "X-Riskctl-Shadow"
#: Sent by riskctl's synthetic analysis load; such requests are not sampled.
LOAD_HEADER = "X-Riskctl-Load"
#: Writes waiting for the store beyond this many are dropped rather than queued.
MAX_PENDING = 64

_SKIP = frozenset({SHADOW_HEADER.lower().encode(), LOAD_HEADER.lower().encode()})
# One writer thread per process: writes are rare (one request in N) and serialising them keeps
# SQLite free of writer contention. Created on first use.
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request-sampler")


def flush(timeout: float = 10.0) -> None:
    """Wait until every write submitted so far has finished (tests, shutdown)."""
    _WRITER.submit(lambda: None).result(timeout)


class RequestSampler:
    """Decides which requests to keep and writes them to the store off the request path."""

    def __init__(
        self, factory: sessionmaker[Session], *, keep: int, every: int, max_bytes: int
    ) -> None:
        self._factory = factory
        self.keep = keep
        self.every = every
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._seen = 0
        self._pending = 0

    @property
    def enabled(self) -> bool:
        """Whether anything is ever kept."""
        return self.keep > 0 and self.every > 0 and self.max_bytes > 0

    def wants(self, method: str, path: str, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        """Before the request runs: could it be kept? (Cheap; decides whether to hold its body.)"""
        if not self.enabled or method != "POST" or path not in SAMPLED_PATHS:
            return False
        return not any(bytes(key).lower() in _SKIP for key, _value in headers)

    def offer(
        self, method: str, path: str, body: bytes, status: int, received_at: dt.datetime
    ) -> bool:
        """After the response: keep every ``every``-th eligible request. Returns whether it was
        handed to the writer (the write itself may still fail, and is then only logged)."""
        if not 200 <= status < 300 or not body or len(body) > self.max_bytes:
            return False
        with self._lock:
            self._seen += 1
            if self._seen % self.every != 0:
                return False
            if self._pending >= MAX_PENDING:
                log.warning("request_sample_dropped", reason="store writes backed up", path=path)
                return False
            self._pending += 1
        try:
            _WRITER.submit(self._write, method, path, body, status, received_at)
        except RuntimeError:  # the interpreter is shutting down
            self._done()
            return False
        return True

    def _done(self) -> None:
        with self._lock:
            self._pending -= 1

    def _write(
        self, method: str, path: str, body: bytes, status: int, received_at: dt.datetime
    ) -> None:
        try:
            parsed = json.loads(body)
            if not isinstance(parsed, dict):
                return
            with database.transaction(self._factory) as session:
                repository.add_request_sample(
                    session,
                    method=method,
                    path=path,
                    body=parsed,
                    status=status,
                    received_at=received_at,
                    keep=self.keep,
                )
        except Exception as exc:  # a sample is never worth an error
            text = str(exc).strip().splitlines()
            log.warning(
                "request_sample_not_recorded",
                path=path,
                error=type(exc).__name__,
                detail=text[0][:200] if text else "",
            )
        finally:
            self._done()
