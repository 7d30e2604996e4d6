"""One analysis window, run for real: load, observe, decide early on failure.

Observations come from HAProxy's per-slot counters (all traffic, real and synthetic), the
instances' own metrics, a Prometheus server where ``prometheus_url`` is configured, and the
synthetic samples (latency distributions, which HAProxy does not keep per server). Each counter
source is one error observation per slot: whichever saw the most requests counts, with the most
errors seen. The samples are also split by the interval (look) they were sent in, so the judge
compares the sides over the same seconds. When the traffic the canary would get in the window is
below the sample the judge will need, synthetic load from the golden set fills the gap. A failure
is acted on as soon as it is significant at the level of an interim look; success needs the whole
window and the samples to catch the policy's smallest defects (the window extends, bounded). A
configured Prometheus server that cannot answer never passes a window silently: the verdict says
so and is decided by the other sources.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from riskctl.analysis.load import BackgroundLoad, LoadResult, Sample
from riskctl.analysis.prometheus import InstanceMetrics, histogram_quantile
from riskctl.analysis.prometheus_server import PrometheusServer, PrometheusServerError, ServerWindow
from riskctl.analysis.providers import observation_from_load
from riskctl.analysis.verdict import AnalysisPolicy, Observation, Phase, Verdict, assess
from riskctl.config import Analysis
from riskctl.router.interface import ServerStats

#: A window short of the minimum sample is extended up to this many times its length ...
EXTEND = 2.0
#: ... and on to this many times while the sample still grows fast enough to get there (a busy
#: host sends the synthetic load more slowly than asked; the canary should not pause for that).
EXTEND_MAX = 5.0
#: A window spoiled by a stall on both sides is measured again at most this many times.
STALL_RETRIES = 2


def _will_reach(verdict: Verdict, needed: int, elapsed: float, horizon: float) -> bool:
    """Whether both sides, at the rates seen so far, reach ``needed`` requests by ``horizon``."""
    if elapsed <= 0:
        return False
    seen = min(
        verdict.metrics.get("canary_requests", 0.0), verdict.metrics.get("baseline_requests", 0.0)
    )
    return seen > 0 and seen / elapsed * horizon >= needed


def must_conclude(verdict: Verdict, elapsed: float, window: float, min_samples: int) -> bool:
    """Whether a look still short of samples (Running after the window) must now conclude:
    past the plain extension and either at the bound or too slow to get there."""
    needed = int(verdict.metrics.get("samples_needed", min_samples))
    return (
        verdict.phase is Phase.RUNNING
        and elapsed >= EXTEND * window
        and (
            elapsed >= EXTEND_MAX * window
            or not _will_reach(verdict, needed, elapsed, EXTEND_MAX * window)
        )
    )


def concluded(verdict: Verdict, elapsed: float, window: float) -> bool:
    """Whether a look ends the window: a failure at once, anything but Running after it, and an
    Inconclusive (a stall) at once."""
    return (
        verdict.phase is Phase.FAILED
        or (elapsed >= window and verdict.phase is not Phase.RUNNING)
        or verdict.phase is Phase.INCONCLUSIVE
    )


__all__ = [
    "AnalysisOutcome",
    "WindowProbe",
    "concluded",
    "must_conclude",
    "policy_of",
    "run_window",
    "scrape_targets",
    "slice_samples",
    "synthetic_rate",
]


def policy_of(spec: Analysis, seconds: float | None = None) -> AnalysisPolicy:
    """The pure analysis thresholds of a ``delivery.toml`` analysis table.

    ``looks``: the most looks a window of ``seconds`` (default: the spec's) can take before its
    deciding one, extensions included; they share the interim part of alpha.
    """
    window = spec.seconds if seconds is None else seconds
    return AnalysisPolicy(
        min_samples=spec.min_samples,
        alpha=spec.alpha,
        max_error_rate=spec.max_error_rate,
        max_error_increase=spec.max_error_increase,
        max_latency_ratio=spec.max_latency_ratio,
        min_latency_increase_s=spec.min_latency_increase_ms / 1e3,
        max_p99_seconds=spec.max_p99_seconds,
        detect_error_increase=spec.detect_error_increase,
        detect_latency_ratio=spec.detect_latency_ratio,
        power=spec.power,
        looks=max(1, math.ceil(EXTEND_MAX * window / spec.interval_s)),
    )


def synthetic_rate(spec: Analysis, canary_share: float, real_rate: float) -> float:
    """Requests per second to add so the canary sees ``min_samples`` within the window.

    The judge may need more (the samples to catch the policy's smallest defects, known only once
    the baseline is seen): the window then extends, bounded, rather than the load rising.
    """
    share = max(canary_share, 0.01)
    needed = 1.5 * spec.min_samples / (spec.seconds * share)
    return min(spec.max_load_rate, max(spec.probe_rate, needed - real_rate))


def slice_samples(samples: Sequence[Sample], marks: Sequence[float]) -> list[LoadResult]:
    """The samples split by the interval between consecutive ``marks`` they were sent in (the
    first interval takes anything earlier, the last anything later)."""
    parts = [LoadResult() for _ in range(max(1, len(marks) - 1))]
    inner = marks[1:-1]
    for sample in samples:
        parts[bisect.bisect_right(inner, sample.sent_at)].samples.append(sample)
    return parts


@dataclass(frozen=True)
class WindowProbe:
    """What the window can look at (provided by the controller, backed by the target)."""

    stats: Callable[[], Sequence[ServerStats]] | None  # None: instances addressed directly
    canary_alive: Callable[[], bool]
    abort_requested: Callable[[], str | None]
    # The instances' own Prometheus metrics by slot (None where unreadable), if available.
    metrics: Callable[[], Mapping[str, InstanceMetrics | None]] | None = None
    # slot -> scrape target ("127.0.0.1:PORT", the `instance` label) for a Prometheus server;
    # derived from ``targets`` when the instances are addressed directly.
    instances: Mapping[str, str] | None = None


@dataclass(frozen=True)
class AnalysisOutcome:
    """A verdict, or the reason an abort was asked for while the window ran."""

    verdict: Verdict | None
    aborted: str | None
    synthetic_rate: float
    elapsed_s: float


def _observe(
    samples: LoadResult,
    *,
    before: Sequence[ServerStats] | None,
    after: Sequence[ServerStats] | None,
    canary: str,
    stable: str,
    crashed: bool,
    metrics: Mapping[str, InstanceMetrics] | None = None,
    server: Mapping[str, ServerWindow] | None = None,
) -> Observation:
    base = observation_from_load(samples, canary, stable)
    c_req, c_err = base.canary_requests, base.canary_errors
    b_req, b_err = base.baseline_requests, base.baseline_errors
    if before is not None and after is not None:

        def delta(slot: str) -> tuple[int, int, bool]:
            a = next((s for s in before if s.server == slot), None)
            z = next((s for s in after if s.server == slot), None)
            if z is None:
                return 0, 0, False
            r0 = a.requests if a else 0
            e0 = (a.responses_5xx + a.response_errors) if a else 0
            return (
                z.requests - r0,
                z.responses_5xx + z.response_errors - e0,
                z.status.startswith("DOWN"),
            )

        sc_req, sc_err, down = delta(canary)
        sb_req, sb_err, _ = delta(stable)
        # Counters see real and synthetic traffic; take whichever saw more.
        if sc_req >= c_req:
            c_req, c_err = sc_req, max(sc_err, c_err)
        if sb_req >= b_req:
            b_req, b_err = sb_req, max(sb_err, b_err)
        crashed = crashed or down
    # The services' own counters (read directly, or by a Prometheus server) see all /v1 traffic
    # of each instance; prefer them when they saw more than the other sources.
    counters = (
        {slot: (int(m.requests), int(m.errors)) for slot, m in (metrics or {}).items()},
        {slot: (w.requests, w.errors) for slot, w in (server or {}).items()},
    )
    for seen in counters:
        for slot, is_canary in ((canary, True), (stable, False)):
            if slot not in seen:
                continue
            n, e = seen[slot]
            if is_canary and n >= c_req:
                c_req, c_err = n, max(e, c_err)
            elif not is_canary and n >= b_req:
                b_req, b_err = n, max(e, b_err)
    return Observation(
        canary_requests=c_req,
        canary_errors=min(c_err, c_req),
        baseline_requests=b_req,
        baseline_errors=min(b_err, b_req),
        canary_latencies=base.canary_latencies,
        baseline_latencies=base.baseline_latencies,
        canary_crashed=crashed,
    )


def scrape_targets(probe: WindowProbe, targets: str | Mapping[str, str]) -> dict[str, str]:
    """slot → scrape target (``host:port``): the probe's, else those of directly addressed slots.

    Behind a front door (``targets`` is its URL) only the probe can say where the slots are.
    """
    if probe.instances is not None:
        return dict(probe.instances)
    if isinstance(targets, str):
        return {}
    return {slot: urlsplit(url).netloc for slot, url in targets.items()}


class _ServerSource:
    """The configured Prometheus server during one window.

    Queried at every check until it fails once; from then on (or when it cannot be asked at
    all) ``note`` says why, and the window is decided by the other sources — at most one
    timeout per window, never a silent pass.
    """

    def __init__(self, url: str, instances: Mapping[str, str], slots: Sequence[str]) -> None:
        self.instances = dict(instances)
        self.slots = tuple(slots)
        self.start = time.time()
        self.server: PrometheusServer | None = None
        self.note: str | None = None
        missing = [slot for slot in self.slots if slot not in self.instances]
        try:
            self.server = PrometheusServer(url)
        except PrometheusServerError as exc:
            self.note = f"prometheus server unavailable: {exc}"
        if missing and self.note is None:
            self.note = (
                "prometheus server not queried: no scrape target known for slot "
                + ", ".join(missing)
            )

    def read(self) -> dict[str, ServerWindow]:
        """Each slot's window so far, or nothing (and ``note`` set) when the server failed."""
        if self.server is None or self.note is not None:
            return {}
        end = time.time()
        try:
            return {s: self.server.window(self.instances[s], self.start, end) for s in self.slots}
        except PrometheusServerError as exc:
            self.note = f"prometheus server unavailable: {exc}; decided by the other sources"
            return {}

    def metrics(
        self, seen: Mapping[str, ServerWindow], canary: str, stable: str
    ) -> dict[str, float]:
        """``prom_server_*`` entries of the verdict's metrics."""
        out = {"prom_server_available": 0.0 if self.note else 1.0}
        for who, slot in (("canary", canary), ("baseline", stable)):
            w = seen.get(slot)
            if w is not None:
                out[f"prom_server_{who}_requests"] = float(w.requests)
                out[f"prom_server_{who}_5xx"] = float(w.errors)
                out[f"prom_server_{who}_p50_ms"] = w.p50 * 1e3
                out[f"prom_server_{who}_p99_ms"] = w.p99 * 1e3
        return out


def run_window(
    spec: Analysis,
    *,
    targets: str | Mapping[str, str],
    bodies: Sequence[Mapping[str, Any]],
    headers: Mapping[str, str],
    canary_slot: str,
    stable_slot: str,
    canary_share: float,
    real_rate: float,
    probe: WindowProbe,
    seconds: float | None = None,
) -> AnalysisOutcome:
    """Run one window of ``seconds`` (default: the spec's) and decide.

    A window both sides stalled in alike (see :func:`assess`) is measured again from scratch, up
    to :data:`STALL_RETRIES` times; the verdict says so. A stall that persists stays
    Inconclusive (the rollout pauses and people are told).
    """

    def measure() -> AnalysisOutcome:
        """One measurement of the window: load, observe, decide (early on failure)."""
        window = spec.seconds if seconds is None else seconds
        policy = policy_of(spec, window)
        rate = synthetic_rate(spec, canary_share, real_rate)
        before = list(probe.stats()) if probe.stats else None
        metrics_before = dict(probe.metrics()) if probe.metrics else {}
        server = (
            _ServerSource(
                spec.prometheus_url, scrape_targets(probe, targets), (canary_slot, stable_slot)
            )
            if spec.prometheus_url
            else None
        )
        begin = time.monotonic()
        marks = [time.perf_counter()]  # the looks' times: the intervals the sides are paired by
        load = None
        if rate > 0:
            load = BackgroundLoad(targets, bodies, rate=rate, headers=headers).start()

        def observe(final: bool, interim: bool = False) -> Verdict:
            samples = load.snapshot() if load else LoadResult()
            after = list(probe.stats()) if probe.stats else None
            crashed = not probe.canary_alive()
            deltas: dict[str, InstanceMetrics] = {}
            if probe.metrics:
                for slot, now in probe.metrics().items():
                    then = metrics_before.get(slot)
                    if now is not None and then is not None:
                        deltas[slot] = now.minus(then)
            seen = server.read() if server else {}
            obs = _observe(
                samples, before=before, after=after, canary=canary_slot, stable=stable_slot,
                crashed=crashed, metrics=deltas, server=seen,
            )  # fmt: skip
            slices = tuple(
                observation_from_load(part, canary_slot, stable_slot)
                for part in slice_samples(samples.samples, marks)
            )
            verdict = assess(replace(obs, slices=slices), policy, final=final, interim=interim)
            extra = {
                f"{who}_histogram_{name}_ms": histogram_quantile(deltas[slot].buckets, q) * 1e3
                for who, slot in (("canary", canary_slot), ("baseline", stable_slot))
                if slot in deltas
                for name, q in (("p50", 0.5), ("p99", 0.99))
            }
            if server is None:
                return replace(verdict, metrics={**verdict.metrics, **extra}) if extra else verdict
            extra.update(server.metrics(seen, canary_slot, stable_slot))
            # Said in the verdict (and so in `riskctl status` and the audit trail), whatever it is.
            reasons = (*verdict.reasons, server.note) if server.note else verdict.reasons
            return replace(verdict, reasons=reasons, metrics={**verdict.metrics, **extra})

        try:
            while True:
                time.sleep(spec.interval_s)
                reason = probe.abort_requested()
                if reason is not None:
                    return AnalysisOutcome(None, reason, rate, time.monotonic() - begin)
                elapsed = time.monotonic() - begin
                marks.append(time.perf_counter())
                verdict = observe(final=False, interim=elapsed < window)
                if must_conclude(verdict, elapsed, window, spec.min_samples):
                    verdict = observe(final=True)  # still short of samples: Inconclusive
                if concluded(verdict, elapsed, window):
                    return AnalysisOutcome(verdict, None, rate, elapsed)
        finally:
            if load is not None:
                load.stop()

    notes: list[str] = []
    elapsed = 0.0
    while True:
        outcome = measure()
        elapsed += outcome.elapsed_s
        verdict = outcome.verdict
        if verdict is None or not verdict.stalled or len(notes) >= STALL_RETRIES:
            break
        notes.append(f"measured again after: {verdict.reasons[0]}")
    if verdict is not None and notes:
        verdict = replace(verdict, reasons=(*verdict.reasons, *notes))
    return replace(outcome, verdict=verdict, elapsed_s=elapsed)
