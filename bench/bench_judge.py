"""Judge calibration: how often the canary analysis aborts a sound release, and how often it
catches a real defect — the old judge and the new one on the same simulated rollouts.

A rollout is the prod canary's analysed steps (``delivery.toml``: 10 % then 50 % of the traffic),
each an analysis window run the way :func:`riskctl.analysis.runner.run_window` runs it (a look
every ``interval_s``, failure acted on at once, success after the window, the window extended
while short of samples, a window both sides stalled in measured again). Requests arrive at the
rate the runner's synthetic load would send; each is seen only once answered.

* A/A: the same release on both sides — latencies lognormal (median 40 ms), errors 0.2 % —
  under host noise that hits both sides at once (stalls of 2–6 s, bursts of 2–4x latency) and GC
  pauses that hit single requests. Any abort is a false abort.
* A/B: the canary with a planted defect: +0.5/1/2/5 points of errors, +10/25/50 % latency.

Prints rates with Wilson 95 % intervals; the targets of issue 13 marked [met]/[MISSED]. Asserts
nothing. ``--rollouts N`` (A/A; A/B runs N/5 per defect) and ``--seed`` change the run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import original_judge  # noqa: E402 - beside this script, as bench_engine's baseline
from riskctl.analysis.runner import (  # noqa: E402
    EXTEND_MAX,
    STALL_RETRIES,
    concluded,
    must_conclude,
    policy_of,
    synthetic_rate,
)
from riskctl.analysis.verdict import Observation, Phase, Verdict, assess  # noqa: E402
from riskctl.config import Analysis, load_config  # noqa: E402

#: The analysed canary weights of a rollout (the 100 % step is not analysed).
SHARES = (0.10, 0.50)
BASE_MEDIAN_S, BASE_LOG_SD, BASE_ERROR_RATE = 0.040, 0.35, 0.002
STALLS_PER_S, STALL_S = 0.03, (2.0, 6.0)
BURSTS_PER_S, BURST_FACTOR = 0.10, (2.0, 4.0)
GC_SHARE, GC_PAUSE_S = 0.01, (0.05, 0.30)
DEFECTS: tuple[tuple[str, float, float], ...] = (
    ("errors +0.5 %", 0.005, 1.0),
    ("errors +1 %", 0.01, 1.0),
    ("errors +2 %", 0.02, 1.0),
    ("errors +5 %", 0.05, 1.0),
    ("latency +10 %", 0.0, 1.10),
    ("latency +25 %", 0.0, 1.25),
    ("latency +50 %", 0.0, 1.50),
)
TARGET_FALSE_ABORT, TARGET_DETECTION, TARGET_WINDOWS = 0.01, 0.99, 3


@dataclass(frozen=True)
class Window:
    """One window's requests: side (True: canary), send time, latency, failed."""

    canary: np.ndarray
    sent: np.ndarray
    latency: np.ndarray
    failed: np.ndarray


def simulate(
    rng: np.random.Generator, rate: float, share: float, seconds: float, defect: tuple[float, float]
) -> Window:
    """Requests over ``seconds`` at ``rate`` a second, ``share`` of them to the canary."""
    n = rng.poisson(rate * seconds)
    sent = np.sort(rng.uniform(0, seconds, n))
    canary = rng.random(n) < share
    latency = BASE_MEDIAN_S * np.exp(rng.normal(0, BASE_LOG_SD, n))
    errors, slowdown = defect
    latency = np.where(canary, latency * slowdown, latency)
    failed = rng.random(n) < BASE_ERROR_RATE + np.where(canary, errors, 0.0)
    # Host noise hits whatever is in flight, on both sides alike.
    for _ in range(rng.poisson(STALLS_PER_S * seconds)):
        start, length = rng.uniform(0, seconds), rng.uniform(*STALL_S)
        hit = (sent >= start) & (sent < start + length)
        latency[hit] += start + length - sent[hit]
    for _ in range(rng.poisson(BURSTS_PER_S * seconds)):
        start = rng.uniform(0, seconds)
        hit = (sent >= start) & (sent < start + 1.0)
        latency[hit] *= rng.uniform(*BURST_FACTOR)
    gc = rng.random(n) < GC_SHARE
    latency[gc] += rng.uniform(*GC_PAUSE_S, int(gc.sum()))
    return Window(canary, sent, latency, failed)


def observe(w: Window, at: float, interval: float) -> Observation:
    """What the runner sees at time ``at``: answered requests, sliced by the look they were sent
    in (failed requests have no latency, as in the runner)."""
    seen = w.sent + w.latency <= at

    def part(mask: np.ndarray) -> Observation:
        c, b = mask & w.canary, mask & ~w.canary
        return Observation(
            int(c.sum()),
            int((c & w.failed).sum()),
            int(b.sum()),
            int((b & w.failed).sum()),
            w.latency[c & ~w.failed].tolist(),
            w.latency[b & ~w.failed].tolist(),
        )

    whole = part(seen)
    edges = np.arange(0.0, at + 1e-9, interval)
    slices = tuple(
        part(seen & (w.sent >= lo) & (w.sent < hi))
        for lo, hi in zip(edges[:-1], [*edges[1:-1], np.inf], strict=True)
    )
    return Observation(
        whole.canary_requests,
        whole.canary_errors,
        whole.baseline_requests,
        whole.baseline_errors,
        whole.canary_latencies,
        whole.baseline_latencies,
        slices=slices,
    )


Judge = Callable[[Observation, bool, bool], Verdict]


def new_judge(spec: Analysis) -> Judge:
    policy = policy_of(spec)
    return lambda o, final, interim: assess(o, policy, final=final, interim=interim)


def old_judge(spec: Analysis) -> Judge:
    p = original_judge.AnalysisPolicy(
        min_samples=spec.min_samples,
        alpha=spec.alpha,
        max_error_rate=spec.max_error_rate,
        max_error_increase=spec.max_error_increase,
        max_latency_ratio=spec.max_latency_ratio,
        min_latency_increase_s=spec.min_latency_increase_ms / 1e3,
        max_p99_seconds=spec.max_p99_seconds,
    )

    def judge(o: Observation, final: bool, interim: bool) -> Verdict:
        flat = original_judge.Observation(
            o.canary_requests, o.canary_errors, o.baseline_requests, o.baseline_errors,
            o.canary_latencies, o.baseline_latencies,
        )  # fmt: skip
        v = original_judge.assess(flat, p, final=final)
        return Verdict(Phase(v.phase.value), v.reasons, v.errors, v.latency, v.metrics, v.stalled)

    return judge


def run_window(judge: Judge, w: Window, spec: Analysis) -> Verdict:
    """The runner's look loop over a simulated window (its own helpers decide when it ends)."""
    window, interval = spec.seconds, spec.interval_s
    looks = math.ceil(EXTEND_MAX * window / interval)
    verdict: Verdict | None = None
    for j in range(1, looks + 1):
        at = j * interval
        verdict = judge(observe(w, at, interval), False, at < window)
        if must_conclude(verdict, at, window, spec.min_samples):
            verdict = judge(observe(w, at, interval), True, False)
        if concluded(verdict, at, window):
            return verdict
    assert verdict is not None
    return verdict


@dataclass
class Tally:
    """Outcomes of a set of rollouts."""

    rollouts: int = 0
    aborted: int = 0
    paused: int = 0
    windows_to_abort: list[int] | None = None

    def add(self, outcome: str, windows: int) -> None:
        self.rollouts += 1
        if outcome == "aborted":
            self.aborted += 1
            self.windows_to_abort = [*(self.windows_to_abort or []), windows]
        elif outcome == "paused":
            self.paused += 1


def rollout(
    judge: Judge, spec: Analysis, seed: int, defect: tuple[float, float]
) -> tuple[str, int]:
    """(aborted | paused | promoted, windows run) of one rollout; same seed → same requests."""
    rng = np.random.default_rng(seed)
    windows = 0
    for share in SHARES:
        rate = synthetic_rate(spec, share, 0.0)
        for _ in range(STALL_RETRIES + 1):
            w = simulate(rng, rate, share, EXTEND_MAX * spec.seconds, defect)
            windows += 1
            verdict = run_window(judge, w, spec)
            if not verdict.stalled:
                break
        if verdict.phase is Phase.FAILED:
            return "aborted", windows
        if verdict.phase is not Phase.SUCCESSFUL:
            return "paused", windows
    return "promoted", windows


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson score 95 % interval of k successes in n (Wilson, 1927)."""
    if n == 0:
        return 0.0, 1.0
    z, p = 1.959964, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{100 * k / n:6.2f} % [{100 * lo:5.2f}, {100 * hi:6.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=500)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    spec = load_config(ROOT / "delivery.toml").config.environment("prod").analysis
    judges = {"old": old_judge(spec), "new": new_judge(spec)}
    print(
        f"policy (delivery.toml, prod): alpha {spec.alpha}, window {spec.seconds:g} s every "
        f"{spec.interval_s:g} s, min_samples {spec.min_samples}, material +"
        f"{spec.max_error_increase:.1%} errors / x{spec.max_latency_ratio:g} latency, smallest "
        f"worth catching +{spec.detect_error_increase:.1%} / x{spec.detect_latency_ratio:g} at "
        f"power {spec.power:g}; steps {', '.join(f'{s:.0%}' for s in SHARES)}"
    )
    print(
        f"host noise: stalls {STALLS_PER_S:g}/s of {STALL_S[0]:g}-{STALL_S[1]:g} s, bursts "
        f"{BURSTS_PER_S:g}/s of x{BURST_FACTOR[0]:g}-{BURST_FACTOR[1]:g}, GC pauses on "
        f"{GC_SHARE:.0%} of requests; rates with Wilson 95 % intervals"
    )
    started = time.perf_counter()
    aa = {name: Tally() for name in judges}
    for i in range(args.rollouts):
        for name, judge in judges.items():
            aa[name].add(*rollout(judge, spec, args.seed * 1_000_003 + i, (0.0, 1.0)))
    print(f"\nA/A, {args.rollouts} rollouts (same release both sides):")
    for name, t in aa.items():
        mark = "[met]" if t.aborted / t.rollouts <= TARGET_FALSE_ABORT else "[MISSED]"
        target = f"  target <= {TARGET_FALSE_ABORT:.0%} {mark}" if name == "new" else ""
        print(
            f"  {name} judge: false aborts {rate(t.aborted, t.rollouts)}  paused (Inconclusive) "
            f"{rate(t.paused, t.rollouts)}{target}"
        )
    per_defect = max(1, args.rollouts // 5)
    print(f"\nA/B, {per_defect} rollouts per defect (detected = aborted):")
    for label, errors, slowdown in DEFECTS:
        line = f"  {label:<14}"
        for name, judge in judges.items():
            t = Tally()
            for i in range(per_defect):
                t.add(*rollout(judge, spec, args.seed * 2_000_003 + i, (errors, slowdown)))
            windows = t.windows_to_abort or [0]
            line += (
                f"  {name}: {rate(t.aborted, t.rollouts)} in <= {max(windows)} windows "
                f"(mean {np.mean(windows):.2f})"
            )
            if name == "new" and label in ("errors +2 %", "latency +50 %"):
                ok = t.aborted / t.rollouts >= TARGET_DETECTION and max(windows) <= TARGET_WINDOWS
                line += f"  target >= {TARGET_DETECTION:.0%} in <= {TARGET_WINDOWS} windows "
                line += "[met]" if ok else "[MISSED]"
        print(line)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
