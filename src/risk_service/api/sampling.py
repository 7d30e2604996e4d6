"""A bounded sample of recent real calculation requests, for riskctl's shadow replay (SPEC §4).

Before a new release takes traffic, riskctl replays some of these to the stable and the new
release and compares the answers, besides its pinned golden set. What is kept: one in
``every`` successful (2xx) ``POST /v1/var`` and ``POST /v1/portfolio/var`` with a JSON object
body of at most ``max_bytes``; never riskctl's own traffic (``X-Riskctl-Shadow``: the replay
itself and the golden set; ``X-Riskctl-Load``: synthetic analysis load). The store keeps the
newest ``keep`` rows.

Recording never fails or slows a request: the decision is a counter, and the write runs on one
background thread after the response has been sent. That thread collects samples for up to
:data:`BATCH_SECONDS` (or until :data:`BATCH_SAMPLES` wait) and writes them in one transaction:
at a thousand requests a second, a write per sample (its transaction, and the writer thread
taking the interpreter's lock from the event loop for each) cost the worker ~0.25 ms of CPU per
request, batches ~0.08 ms (docs/performance.md). A failed write is logged for each of its samples
(without the body or any header) and dropped; so are samples beyond :data:`MAX_PENDING` while the
store is slow.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from risk_service.logs import get_logger
from risk_service.store import database, repository

__all__ = [
    "BATCH_SAMPLES",
    "BATCH_SECONDS",
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
#: The writer collects samples this long before a transaction ...
BATCH_SECONDS = 0.5
#: ... or until this many wait.
BATCH_SAMPLES = MAX_PENDING // 2

_SKIP = frozenset({SHADOW_HEADER.lower().encode(), LOAD_HEADER.lower().encode()})
# One writer thread per process: writes are rare (one request in N) and serialising them keeps
# SQLite free of writer contention. Created on first use.
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request-sampler")
# Set while flush() waits: the writer stops collecting and writes at once.
_HURRY = threading.Event()


def flush(timeout: float = 10.0) -> None:
    """Wait until every write submitted so far has finished (tests, shutdown)."""
    _HURRY.set()
    try:
        _WRITER.submit(lambda: None).result(timeout)
    finally:
        _HURRY.clear()


@dataclass(frozen=True)
class _Sample:
    method: str
    path: str
    body: bytes
    status: int
    received_at: dt.datetime


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
        self._pending = 0  # accepted and not yet written (waiting or in the writer's hands)
        self._waiting: list[_Sample] = []
        self._draining = False  # a drain is queued or running on the writer thread
        self._full = threading.Event()  # BATCH_SAMPLES wait: write without collecting longer

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
            self._waiting.append(_Sample(method, path, body, status, received_at))
            if len(self._waiting) >= BATCH_SAMPLES:
                self._full.set()
            if self._draining:
                return True  # the running drain takes it with the next batch
            self._draining = True
        try:
            _WRITER.submit(self._drain)
        except RuntimeError:  # the interpreter is shutting down
            with self._lock:
                self._draining = False
                self._pending -= len(self._waiting)
                self._waiting.clear()
            return False
        return True

    def _drain(self) -> None:
        """On the writer thread: collect (see the module), write what is waiting in one
        transaction, and again until nothing is."""
        while True:
            deadline = time.monotonic() + BATCH_SECONDS
            while not (_HURRY.is_set() or self._full.is_set()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._full.wait(min(left, 0.05))  # wakes for a full batch; polls for flush()
            with self._lock:
                self._full.clear()
                batch, self._waiting = self._waiting, []
                if not batch:
                    self._draining = False
                    return
            try:
                self._write(batch)
            except Exception as exc:  # never leave the drain stuck: the next batch still goes
                for sample in batch:
                    _not_recorded(sample, exc)
            finally:
                with self._lock:
                    self._pending -= len(batch)

    def _write(self, batch: list[_Sample]) -> None:
        parsed: list[tuple[_Sample, dict[str, object]]] = []
        for sample in batch:
            try:
                body = json.loads(sample.body)
            except Exception as exc:  # invalid, or nested beyond the parser's recursion limit
                _not_recorded(sample, exc)
                continue
            if isinstance(body, dict):
                parsed.append((sample, body))
        if not parsed:
            return
        try:
            with database.transaction(self._factory) as session:
                for sample, body in parsed:
                    repository.add_request_sample(
                        session,
                        method=sample.method,
                        path=sample.path,
                        body=body,
                        status=sample.status,
                        received_at=sample.received_at,
                        keep=self.keep,
                    )
        except Exception as exc:  # a sample is never worth an error
            for sample, _ in parsed:
                _not_recorded(sample, exc)


def _not_recorded(sample: _Sample, exc: Exception) -> None:
    """Log a sample that was dropped, without its body or any header."""
    text = str(exc).strip().splitlines()
    log.warning(
        "request_sample_not_recorded",
        path=sample.path,
        error=type(exc).__name__,
        detail=text[0][:200] if text else "",
    )
