"""The analysis window's timing: a thin sample is waited for while it still grows fast enough,
and declared Inconclusive promptly when it will not get there."""

from __future__ import annotations

import time

from riskctl.analysis.runner import EXTEND, EXTEND_MAX, WindowProbe, run_window
from riskctl.analysis.verdict import Phase
from riskctl.config import Analysis
from riskctl.router.interface import ServerStats


def _growing(canary_rate: float, baseline_rate: float) -> WindowProbe:
    """HAProxy counters that grow at fixed rates from the moment the probe is made."""
    start = time.monotonic()

    def stats() -> list[ServerStats]:
        t = time.monotonic() - start
        return [
            ServerStats("be", slot, "UP", 50, int(rate * t), 0, 0, 0, 1, "L7OK")
            for slot, rate in (("green", canary_rate), ("blue", baseline_rate))
        ]

    return WindowProbe(stats=stats, canary_alive=lambda: True, abort_requested=lambda: None)


# The smallest error increase worth catching is large, so the judge needs no more than
# min_samples (30) of a canary without errors: the window's timing is what is tested here.
SPEC = Analysis(
    seconds=1.0, interval_s=0.25, min_samples=30, probe_rate=0, detect_error_increase=0.25
)


def _window(probe: WindowProbe) -> tuple[Phase, float]:
    out = run_window(
        SPEC, targets={}, bodies=[{}], headers={}, canary_slot="green", stable_slot="blue",
        canary_share=0.1, real_rate=1e6, probe=probe,
    )  # fmt: skip
    assert out.verdict is not None
    return out.verdict.phase, out.elapsed_s


def test_a_slow_but_growing_sample_is_waited_for() -> None:
    """12 canary requests a second reach 30 after ~2.5 s: past the plain extension (2 s), still
    decided (Successful) rather than paused as Inconclusive."""
    phase, elapsed = _window(_growing(12, 120))
    assert phase is Phase.SUCCESSFUL
    assert EXTEND * SPEC.seconds <= elapsed < EXTEND_MAX * SPEC.seconds


def test_a_sample_that_cannot_get_there_is_inconclusive_without_waiting_longer() -> None:
    """2 canary requests a second would take 15 s: Inconclusive as soon as the plain extension
    ends, not after waiting the maximum."""
    phase, elapsed = _window(_growing(2, 120))
    assert phase is Phase.INCONCLUSIVE
    assert elapsed < EXTEND * SPEC.seconds + 0.75


def test_the_window_extends_to_the_samples_the_judge_needs() -> None:
    """min_samples (30) is reached in the window, but excluding +5 % errors takes ~75 canary
    requests without errors: at 40 a second the window runs on past its second and decides
    Successful once they are in, saying n of m."""
    spec = Analysis(
        seconds=1.0, interval_s=0.25, min_samples=30, probe_rate=0, detect_error_increase=0.05
    )
    out = run_window(
        spec, targets={}, bodies=[{}], headers={}, canary_slot="green", stable_slot="blue",
        canary_share=0.1, real_rate=1e6, probe=_growing(40, 400),
    )  # fmt: skip
    assert out.verdict is not None
    assert out.verdict.phase is Phase.SUCCESSFUL, out.verdict.summary()
    needed = out.verdict.metrics["samples_needed"]
    assert 60 <= needed <= 100
    assert out.verdict.metrics["canary_requests"] >= needed
    assert out.elapsed_s >= 1.5 * spec.seconds
    assert f" of {needed:.0f} samples" in out.verdict.summary()
