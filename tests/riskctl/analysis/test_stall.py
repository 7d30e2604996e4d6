"""A window both sides stall in alike is measured again; a stall of the canary alone fails it.

Real uvicorn instances on 127.0.0.1 addressed directly (as in blue-green pre-promotion), with the
synthetic load the runner sends; a stall is every request answered 0.5 s late while it lasts.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest

from riskctl.analysis.runner import STALL_RETRIES, WindowProbe, run_window
from riskctl.analysis.verdict import Phase
from riskctl.config import Analysis
from tests.service.conftest import LiveServer

pytestmark = pytest.mark.integration

# Ceiling 0.2 s, so a 0.5 s stall is over it; ~90 requests a second split between the slots.
# The judge's sample is sized for large defects (+50 % errors, x3 latency), so it needs no more
# than min_samples: on a loaded host the stalled window then extends until it has them, instead of
# concluding early as "not enough traffic" (Inconclusive, but not the stall these tests are about).
SPEC = Analysis(
    seconds=1.0, interval_s=0.25, min_samples=30, max_p99_seconds=0.2, probe_rate=0,
    detect_error_increase=0.5, detect_latency_ratio=3.0,
)  # fmt: skip
STALL_S = 0.5


def _app(stalled: Callable[[], bool]) -> Callable[..., Any]:
    """An instance answering {} at once, or STALL_S late while ``stalled()``."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        if stalled():
            await asyncio.sleep(STALL_S)
        body = json.dumps({}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    return app


@contextmanager
def _pair(canary: Callable[[], bool], stable: Callable[[], bool]) -> Iterator[dict[str, str]]:
    with ExitStack() as stack:
        urls = {
            slot: stack.enter_context(LiveServer(_app(stalled))).url + "/v1/portfolio/var"
            for slot, stalled in (("green", canary), ("blue", stable))
        }
        yield urls


def _window(targets: dict[str, str]) -> Any:
    probe = WindowProbe(stats=None, canary_alive=lambda: True, abort_requested=lambda: None)
    out = run_window(
        SPEC, targets=targets, bodies=[{}], headers={}, canary_slot="green",
        stable_slot="blue", canary_share=0.5, real_rate=0.0, probe=probe,
    )  # fmt: skip
    assert out.verdict is not None
    return out


def test_a_stall_of_both_sides_is_measured_again_and_then_passes() -> None:
    """Both instances stall for the first 0.8 s: that window is Inconclusive (stalled), the
    next one is clean and decides — Successful, saying it measured again."""
    until = time.monotonic() + 0.8

    def both() -> bool:
        return time.monotonic() < until

    with _pair(both, both) as targets:
        out = _window(targets)
    assert out.verdict.phase is Phase.SUCCESSFUL, out.verdict.summary()
    assert "measured again after: requests over the 200 ms ceiling on both sides alike" in (
        out.verdict.summary()
    )
    assert out.elapsed_s >= SPEC.seconds


def test_a_stall_that_persists_stays_inconclusive() -> None:
    """Both sides stalled in every window: Inconclusive after the retries (the rollout pauses)."""
    with _pair(lambda: True, lambda: True) as targets:
        out = _window(targets)
    assert (out.verdict.phase, out.verdict.stalled) == (Phase.INCONCLUSIVE, True), (
        out.verdict.summary()
    )
    assert out.verdict.summary().count("measured again after") == STALL_RETRIES


def test_a_stall_of_the_canary_alone_fails_it() -> None:
    """Only the canary answers late: failed against the clean baseline at once, not excused."""
    with _pair(lambda: True, lambda: False) as targets:
        out = _window(targets)
    assert (out.verdict.phase, out.verdict.stalled) == (Phase.FAILED, False)
    assert "canary latency p50 5" in out.verdict.summary()  # ~502 ms vs a few ms
    assert "measured again" not in out.verdict.summary()
