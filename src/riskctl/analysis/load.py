"""Synthetic load through an environment's front door, attributed to the slot that answered.

Canary analysis needs enough samples to decide; when real traffic is thin the controller sends
the golden set's requests at a fixed rate (open loop, so a slow canary cannot slow the load
down and hide itself). HAProxy's ``X-Served-By`` header says which slot answered each request.
Bounded in rate, duration and concurrency; it only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

#: Upper bounds on what one load run may do.
MAX_RATE = 2_000.0
MAX_SECONDS = 600.0
MAX_IN_FLIGHT = 256


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: which slot answered, the HTTP status (0 = no answer) and its latency."""

    slot: str
    status: int
    latency: float

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


async def _run(
    url: str,
    bodies: Sequence[Mapping[str, Any]],
    *,
    rate: float,
    seconds: float,
    headers: Mapping[str, str],
    timeout: float,
) -> LoadResult:
    result = LoadResult()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    cycle = itertools.cycle(bodies)
    async with httpx.AsyncClient(timeout=timeout, limits=limits, headers=dict(headers)) as client:

        async def one(body: Mapping[str, Any]) -> None:
            async with gate:
                start = time.perf_counter()
                try:
                    response = await client.post(url, json=body)
                    sample = Sample(
                        response.headers.get("x-served-by", "?"),
                        response.status_code,
                        time.perf_counter() - start,
                    )
                except httpx.HTTPError:
                    sample = Sample("?", 0, time.perf_counter() - start)
                result.samples.append(sample)

        tasks = []
        begin = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(next(cycle))))
            result.sent += 1
        await asyncio.gather(*tasks)
    return result


def generate_load(
    url: str,
    bodies: Sequence[Mapping[str, Any]],
    *,
    rate: float,
    seconds: float,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> LoadResult:
    """POST ``bodies`` round-robin to ``url`` at ``rate`` per second for ``seconds``."""
    _check_local(url)
    if not 0 < rate <= MAX_RATE or not 0 < seconds <= MAX_SECONDS:
        raise ValueError(
            f"load must be within 0 < rate <= {MAX_RATE:g}/s and 0 < seconds <= {MAX_SECONDS:g}"
        )
    if not bodies:
        raise ValueError("no request bodies to send")
    return asyncio.run(
        _run(url, bodies, rate=rate, seconds=seconds, headers=headers or {}, timeout=timeout)
    )


__all__ = ["MAX_RATE", "MAX_SECONDS", "LoadResult", "Sample", "generate_load"]
