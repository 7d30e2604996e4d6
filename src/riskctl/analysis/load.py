"""Synthetic load through an environment's front door, attributed to the slot that answered.

Canary analysis needs enough samples to decide; when real traffic is thin the controller sends
the golden set's requests at a fixed rate (open loop, so a slow canary cannot slow the load
down and hide itself). HAProxy's ``X-Served-By`` header says which slot answered each request.
Bounded in rate, duration and concurrency; it only ever talks to 127.0.0.1. Every request carries
``X-Riskctl-Load: 1`` so the service never mistakes it for real traffic (it keeps a sample of real
requests for the shadow replay, and leaves these out).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from riskctl.riskclient import LOAD_HEADERS

#: Upper bounds on what one load run may do.
MAX_RATE = 2_000.0
MAX_SECONDS = 600.0
MAX_IN_FLIGHT = 256
#: Set by the front door (HAProxy, riskctl.router.haproxy) on each answer: the slot that served it.
SERVED_BY = "x-served-by"


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: which slot answered, the HTTP status (0 = no answer), its latency, and when it
    was sent (``time.perf_counter()``; the analysis pairs the sides by interval with it)."""

    slot: str
    status: int
    latency: float
    sent_at: float = 0.0

    @property
    def failed(self) -> bool:
        """5xx or no answer at all (4xx is the client's fault and not counted)."""
        return self.status == 0 or self.status >= 500


@dataclass
class LoadResult:
    """All samples of one run."""

    samples: list[Sample] = field(default_factory=list)
    sent: int = 0

    def for_slot(self, slot: str) -> list[Sample]:
        """Samples answered by ``slot``."""
        return [s for s in self.samples if s.slot == slot]

    @property
    def failures(self) -> int:
        """Requests that got a 5xx or no answer."""
        return sum(1 for s in self.samples if s.failed)


def _check_local(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"load is only ever sent to this host, not {host!r}")


def _check_bounds(rate: float, seconds: float) -> None:
    if not 0 < rate <= MAX_RATE or not 0 < seconds <= MAX_SECONDS:
        raise ValueError(
            f"load must be within 0 < rate <= {MAX_RATE:g}/s and 0 < seconds <= {MAX_SECONDS:g}"
        )


async def _post(
    client: httpx.AsyncClient, slot: str | None, url: str, body: Mapping[str, Any]
) -> Sample:
    """One request, attributed to ``slot`` (or to the slot the front door says answered)."""
    start = time.perf_counter()
    try:
        response = await client.post(url, json=body)
    except httpx.HTTPError:
        return Sample(slot or "?", 0, time.perf_counter() - start, start)
    answered = slot or response.headers.get(SERVED_BY, "?")
    return Sample(answered, response.status_code, time.perf_counter() - start, start)


def generate_load(
    url: str,
    bodies: Sequence[Mapping[str, Any]],
    *,
    rate: float,
    seconds: float,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> LoadResult:
    """POST ``bodies`` round-robin to ``url`` at ``rate`` per second for ``seconds`` (blocks
    until every request was answered or timed out)."""
    _check_local(url)
    _check_bounds(rate, seconds)
    if not bodies:
        raise ValueError("no request bodies to send")
    load = BackgroundLoad(url, bodies, rate=rate, headers=headers, timeout=timeout, seconds=seconds)
    load.run()
    return load.snapshot()


class BackgroundLoad:
    """Open-loop load in a background thread, readable while it runs, stopped on request.

    ``targets`` is either the front door's URL (the answering slot comes from ``X-Served-By``)
    or a mapping slot → URL of instances addressed directly (requests alternate between them;
    used before a release takes traffic, e.g. blue-green pre-promotion analysis).
    """

    def __init__(
        self,
        targets: str | Mapping[str, str],
        bodies: Sequence[Mapping[str, Any]],
        *,
        rate: float,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        seconds: float = MAX_SECONDS,
    ) -> None:
        urls = [targets] if isinstance(targets, str) else list(targets.values())
        for url in urls:
            _check_local(url)
        _check_bounds(rate, seconds)
        if not bodies or not urls:
            raise ValueError("no request bodies or targets")
        self.targets = targets
        self.bodies = list(bodies)
        self.rate = rate
        self.seconds = seconds
        self.headers = {**(headers or {}), **LOAD_HEADERS}
        self.timeout = timeout
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="riskctl-load", daemon=True)

    def start(self) -> BackgroundLoad:
        """Begin sending."""
        self._thread.start()
        return self

    def snapshot(self) -> LoadResult:
        """A copy of the samples so far."""
        with self._lock:
            return LoadResult(list(self.result.samples), self.result.sent)

    def stop(self) -> LoadResult:
        """Stop sending, wait for requests in flight, return every sample."""
        self._stop.set()
        self._thread.join(self.timeout + 5)
        return self.snapshot()

    def __enter__(self) -> BackgroundLoad:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self) -> None:
        """Send in this thread until ``seconds`` have passed or :meth:`stop` is called."""
        asyncio.run(self._send())

    async def _send(self) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)
        bodies = itertools.cycle(self.bodies)
        if isinstance(self.targets, str):
            routes: itertools.cycle[tuple[str | None, str]] = itertools.cycle(
                [(None, self.targets)]
            )
        else:
            routes = itertools.cycle(list(self.targets.items()))
        async with httpx.AsyncClient(
            timeout=self.timeout, limits=limits, headers=self.headers
        ) as client:

            async def one(slot: str | None, url: str, body: Mapping[str, Any]) -> None:
                async with gate:
                    sample = await _post(client, slot, url, body)
                with self._lock:
                    self.result.samples.append(sample)

            tasks = []
            begin = time.perf_counter()
            i = 0
            while not self._stop.is_set() and i < self.rate * self.seconds:
                delay = begin + i / self.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(min(delay, 0.05))
                    continue
                slot, url = next(routes)
                tasks.append(asyncio.create_task(one(slot, url, next(bodies))))
                with self._lock:
                    self.result.sent += 1
                i += 1
            await asyncio.gather(*tasks)


__all__ = [
    "MAX_RATE",
    "MAX_SECONDS",
    "SERVED_BY",
    "BackgroundLoad",
    "LoadResult",
    "Sample",
    "generate_load",
]
