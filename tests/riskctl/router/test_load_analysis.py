"""Synthetic load through a real HAProxy, attributed per slot, feeds the canary analysis."""

from __future__ import annotations

import time
from http.server import ThreadingHTTPServer

import pytest

from riskctl.analysis import AnalysisPolicy, Phase, assess
from riskctl.analysis.load import LoadResult, Sample, generate_load
from riskctl.analysis.providers import observation_from_load, observation_from_stats
from riskctl.router.haproxy import FrontDoor, HAProxyProcess, HAProxyRouter
from riskctl.router.interface import ServerState

pytestmark = pytest.mark.integration

# ~75 requests a side of a ~1 ms service whose latencies spread widely on a busy host: enough
# to rule out a 5x slowdown, not the default 1.5x (the judge would rightly say Inconclusive).
POLICY = AnalysisPolicy(min_samples=40, alpha=0.01, detect_latency_ratio=5.0)
BODIES = [{"returns": [0.01, -0.02], "confidence": 0.5}]


def _canary_at(
    process: HAProxyProcess, door: FrontDoor, ports: dict[str, int], weight: int
) -> HAProxyRouter:
    router = HAProxyRouter(process.api())
    router.set_address(door.backend, "blue", "127.0.0.1", ports["one"])
    router.set_address(door.backend, "green", "127.0.0.1", ports["two"])
    for slot in ("blue", "green"):
        router.set_state(door.backend, slot, ServerState.READY)
    router.set_weight(door.backend, "blue", 100 - weight)
    router.set_weight(door.backend, "green", weight)
    deadline = time.monotonic() + 10
    while {s.status for s in router.stats(door.backend)} != {"UP"}:
        assert time.monotonic() < deadline, router.stats(door.backend)
        time.sleep(0.1)
    return router


def test_error_prone_canary_fails_analysis(
    haproxy: tuple[HAProxyProcess, FrontDoor],
    backends: dict[str, int],
    backend_servers: dict[str, ThreadingHTTPServer],
) -> None:
    """A canary answering 5xx on every 4th request fails; samples and HAProxy counters agree."""
    process, door = haproxy
    backend_servers["two"].fail_every = 4  # type: ignore[attr-defined]
    router = _canary_at(process, door, backends, 50)
    before = router.stats(door.backend)
    load = generate_load(f"{door.url}/v1/var", BODIES, rate=100, seconds=2)
    after = router.stats(door.backend)

    assert load.sent == 200
    assert len(load.samples) == 200
    obs = observation_from_load(load, "green", "blue")
    assert obs.canary_requests + obs.baseline_requests == 200
    assert obs.canary_errors == obs.canary_requests // 4
    verdict = assess(obs, POLICY)
    assert verdict.phase is Phase.FAILED, verdict.summary()

    from_stats = observation_from_stats(before, after, "green", "blue")
    assert from_stats.canary_requests == obs.canary_requests
    assert from_stats.canary_errors == obs.canary_errors
    assert assess(from_stats, POLICY).phase is Phase.FAILED


def test_slow_canary_fails_and_healthy_passes(
    haproxy: tuple[HAProxyProcess, FrontDoor],
    backends: dict[str, int],
    backend_servers: dict[str, ThreadingHTTPServer],
) -> None:
    """A canary 50 ms slower than a ~1 ms baseline fails on latency; equal slots pass.

    (50 ms, not less: on a saturated 2-core host the baseline's own latencies spread by tens of
    ms, and the paired judge rightly does not call a smaller gap a defect in 1.5 s of load.)"""
    process, door = haproxy
    _canary_at(process, door, backends, 50)
    healthy = generate_load(f"{door.url}/v1/var", BODIES, rate=100, seconds=1.5)
    assert assess(observation_from_load(healthy, "green", "blue"), POLICY).phase is Phase.SUCCESSFUL

    backend_servers["two"].delay = 0.05  # type: ignore[attr-defined]
    slow = generate_load(f"{door.url}/v1/var", BODIES, rate=100, seconds=1.5)
    verdict = assess(observation_from_load(slow, "green", "blue"), POLICY)
    assert verdict.phase is Phase.FAILED, verdict.summary()
    assert "latency" in verdict.summary()


def test_load_is_bounded_and_local() -> None:
    """Load goes only to this host and within the rate/duration bounds."""
    with pytest.raises(ValueError, match="only ever sent to this host"):
        generate_load("http://example.com/v1/var", BODIES, rate=1, seconds=1)
    with pytest.raises(ValueError, match="rate"):
        generate_load("http://127.0.0.1:1/", BODIES, rate=10_000, seconds=1)
    with pytest.raises(ValueError, match="no request bodies"):
        generate_load("http://127.0.0.1:1/", [], rate=1, seconds=1)


def test_unanswered_requests_count_against_the_canary() -> None:
    """Requests nobody answered are failures charged to the canary."""
    load = LoadResult([Sample("blue", 200, 0.01), Sample("?", 0, 5.0)], sent=2)
    obs = observation_from_load(load, "green", "blue")
    assert (obs.canary_requests, obs.canary_errors, obs.baseline_requests) == (1, 1, 1)
    assert load.failures == 1
