"""Canary analysis decisions from literal observations."""

from __future__ import annotations

import numpy as np
import pytest

from riskctl.analysis import AnalysisPolicy, Observation, Phase, assess, compare_error_rates

POLICY = AnalysisPolicy(min_samples=200, alpha=0.01)


def _latencies(seed: int, n: int, scale: float) -> list[float]:
    rng = np.random.default_rng(seed)
    return (rng.lognormal(np.log(0.004), 0.3, n) * scale).tolist()


def test_healthy_canary_succeeds() -> None:
    """Same error rate and latency distribution as the baseline → Successful, with the numbers."""
    obs = Observation(400, 1, 3600, 8, _latencies(1, 400, 1.0), _latencies(2, 3600, 1.0))
    verdict = assess(obs, POLICY)
    assert verdict.phase is Phase.SUCCESSFUL
    assert "error rate 0.25 %" in verdict.summary()
    assert verdict.metrics["canary_requests"] == 400


def test_sparse_errors_fail_on_exact_test() -> None:
    """12 errors in 300 canary requests vs 2 in 2,700 fails (Fisher p ≪ 0.01, +3.9 points)."""
    obs = Observation(300, 12, 2700, 2, _latencies(3, 300, 1.0), _latencies(4, 2700, 1.0))
    verdict = assess(obs, POLICY)
    assert verdict.phase is Phase.FAILED
    assert "Fisher p" in verdict.summary()
    assert verdict.errors.p_value < 1e-6


def test_noise_does_not_fail() -> None:
    """2 errors in 300 vs 10 in 2,700 is not significant: no failure from noise alone."""
    obs = Observation(300, 2, 2700, 10, _latencies(5, 300, 1.0), _latencies(6, 2700, 1.0))
    assert assess(obs, POLICY).phase is Phase.SUCCESSFUL


def test_error_ceiling_without_baseline_errors() -> None:
    """A canary failing 10 % of requests fails on the absolute ceiling too."""
    obs = Observation(250, 25, 2250, 0)
    verdict = assess(obs, POLICY)
    assert verdict.phase is Phase.FAILED
    assert "above the ceiling" in verdict.summary()


def test_five_times_slower_fails_on_latency() -> None:
    """A canary 5x slower than its baseline fails on Mann–Whitney and the p50/p99 ratio."""
    obs = Observation(300, 0, 2700, 0, _latencies(7, 300, 5.0), _latencies(8, 2700, 1.0))
    verdict = assess(obs, POLICY)
    assert verdict.phase is Phase.FAILED
    assert "Mann-Whitney" in verdict.summary()
    assert verdict.latency.canary_p50 > 4 * verdict.latency.baseline_p50


def test_slightly_slower_is_tolerated() -> None:
    """10 % slower is within the 1.5x tolerance even if significant."""
    obs = Observation(300, 0, 2700, 0, _latencies(9, 300, 1.1), _latencies(10, 2700, 1.0))
    assert assess(obs, POLICY).phase is Phase.SUCCESSFUL


def test_too_few_samples_running_then_inconclusive() -> None:
    """Below the minimum sample the analysis keeps running, and is Inconclusive when final."""
    obs = Observation(50, 0, 450, 0, _latencies(11, 50, 1.0), _latencies(12, 450, 1.0))
    assert assess(obs, POLICY, final=False).phase is Phase.RUNNING
    verdict = assess(obs, POLICY, final=True)
    assert verdict.phase is Phase.INCONCLUSIVE
    assert "not enough traffic" in verdict.summary()


def test_crash_fails_at_once() -> None:
    """A crashed canary fails whatever the sample size."""
    verdict = assess(Observation(3, 0, 30, 0, canary_crashed=True), POLICY, final=False)
    assert verdict.phase is Phase.FAILED
    assert "crashed" in verdict.summary()


def test_absolute_p99_ceiling() -> None:
    """A canary at 3 s a request over a healthy baseline fails on the ceiling (and on latency)."""
    obs = Observation(250, 0, 2250, 0, [3.0] * 250, _latencies(17, 2250, 1.0))
    summary = assess(obs, POLICY).summary()
    assert "above the ceiling 2000 ms (250 of 250 requests slower; baseline 0 of 2250" in summary


def test_ceiling_breached_on_both_sides_is_a_stall_not_evidence() -> None:
    """Requests over the ceiling in the same share on both sides are a stall of the host or of
    the load generator: no failure, but no pass either — Inconclusive and ``stalled`` (the
    runner measures again). A canary share significantly or materially above the baseline's,
    or a baseline with too few latencies to compare, still fails.

    Regression: a ~6 s stall of a CI host delayed 11 of the canary's first 31 requests (and the
    baseline's alike) and aborted a sound canary on its p99 ceiling.
    """
    policy = AnalysisPolicy(min_samples=30, alpha=0.01)
    canary = [*_latencies(18, 20, 1.0), *([5.9] * 11)]
    baseline = [*_latencies(19, 190, 1.0), *([5.9] * 90)]
    verdict = assess(Observation(31, 0, 280, 0, canary, baseline), policy, final=False)
    assert (verdict.phase, verdict.stalled) == (Phase.INCONCLUSIVE, True), verdict.summary()
    assert "both sides alike (canary 11 of 31, baseline 90 of 280" in verdict.summary()
    assert verdict.metrics["baseline_over_ceiling"] == 90

    healthy = [*_latencies(20, 270, 1.0), *([5.9] * 10)]
    verdict = assess(Observation(31, 0, 280, 0, canary, healthy), policy)
    assert (verdict.phase, verdict.stalled) == (Phase.FAILED, False)
    assert "(11 of 31 requests slower; baseline 10 of 280, Fisher p = " in verdict.summary()

    # A canary slow on every request against a baseline with two (slow) latencies: no excuse.
    thin = assess(Observation(250, 0, 2250, 0, [3.0] * 250, [3.0, 3.0]), POLICY)
    assert thin.phase is Phase.FAILED, thin.summary()
    # Materially more of the canary's requests (60 %) than the baseline's (30 %) over it.
    more = [*_latencies(21, 80, 1.0), *([3.0] * 120)]
    half = [*_latencies(22, 1400, 1.0), *([3.0] * 600)]
    assert assess(Observation(200, 0, 2000, 0, more, half), POLICY).phase is Phase.FAILED


def test_error_rate_inputs_validated() -> None:
    """Negative counts or more errors than requests are refused."""
    with pytest.raises(ValueError, match=">= 0"):
        compare_error_rates(-1, 10, 0, 10)
    with pytest.raises(ValueError, match="exceed"):
        compare_error_rates(11, 10, 0, 10)
    assert compare_error_rates(0, 0, 0, 10).p_value == 1.0


def test_significant_but_immaterial_slowdown_is_tolerated() -> None:
    """1.6x slower on a 2 ms service (+1.2 ms) is below the 10 ms floor: not a failure.

    Regression: a busy CI host made a fresh canary's p50 3.7 ms vs 2.3 ms (p = 0.0018) and
    aborted a sound release.
    """
    canary = (np.asarray(_latencies(13, 400, 1.6)) / 2).tolist()
    baseline = (np.asarray(_latencies(14, 3600, 1.0)) / 2).tolist()
    verdict = assess(Observation(400, 0, 3600, 0, canary, baseline), POLICY)
    assert verdict.latency.p_value < POLICY.alpha
    assert verdict.latency.canary_p50 > 1.5 * verdict.latency.baseline_p50
    assert verdict.phase is Phase.SUCCESSFUL, verdict.summary()
    strict = AnalysisPolicy(min_samples=200, alpha=0.01, min_latency_increase_s=0.0)
    assert assess(Observation(400, 0, 3600, 0, canary, baseline), strict).phase is Phase.FAILED


def test_ceiling_needs_more_than_one_stall() -> None:
    """One or two stalled requests among 150 (a page fault, a busy host) do not breach the
    ceiling; 1 % and at least three requests over it do.

    Regression: a 4.3 s stall on an overloaded host failed a sound canary on p99 alone.
    """
    fast = _latencies(15, 148, 1.0)
    baseline = _latencies(16, 1350, 1.0)
    two = Observation(150, 0, 1350, 0, [*fast, 4.3, 4.4], baseline)
    assert assess(two, POLICY_150).phase is Phase.SUCCESSFUL, assess(two, POLICY_150).summary()
    three = Observation(150, 0, 1350, 0, [*fast[:-1], 4.3, 4.4, 4.5], baseline)
    verdict = assess(three, POLICY_150)
    assert verdict.phase is Phase.FAILED
    assert "3 of 150 requests slower" in verdict.summary()


POLICY_150 = AnalysisPolicy(min_samples=100, alpha=0.01)
