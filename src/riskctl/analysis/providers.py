"""Where analysis observations come from.

* :func:`observation_from_load` — per-request samples of a synthetic or replayed load, attributed
  to slots by HAProxy's ``X-Served-By`` header: error counts and latency distributions.
* :func:`observation_from_stats` — HAProxy ``show stat`` counters (real traffic): 5xx and
  response errors per slot between two snapshots. HAProxy keeps no latency distribution per
  server, so latency comes from samples (or the services' own Prometheus histograms).
"""

from __future__ import annotations

from collections.abc import Sequence

from riskctl.analysis.load import LoadResult
from riskctl.analysis.verdict import Observation
from riskctl.router.interface import ServerStats


def observation_from_load(
    load: LoadResult, canary_slot: str, stable_slot: str, *, canary_crashed: bool = False
) -> Observation:
    """Counts and latencies of both slots from attributed samples.

    Requests nobody answered (status 0) are counted against the canary: the stable release was
    serving before the canary arrived, so an unanswered request during a step is the step's
    failure until shown otherwise.
    """
    canary = load.for_slot(canary_slot)
    stable = load.for_slot(stable_slot)
    orphans = [s for s in load.samples if s.slot not in (canary_slot, stable_slot)]
    return Observation(
        canary_requests=len(canary) + len(orphans),
        canary_errors=sum(1 for s in canary if s.failed) + sum(1 for s in orphans if s.failed),
        baseline_requests=len(stable),
        baseline_errors=sum(1 for s in stable if s.failed),
        canary_latencies=[s.latency for s in canary if not s.failed],
        baseline_latencies=[s.latency for s in stable if not s.failed],
        canary_crashed=canary_crashed,
    )


def observation_from_stats(
    before: Sequence[ServerStats], after: Sequence[ServerStats], canary_slot: str, stable_slot: str
) -> Observation:
    """Request and error deltas per slot between two ``show stat`` snapshots."""

    def delta(slot: str) -> tuple[int, int, bool]:
        a = next((s for s in before if s.server == slot), None)
        b = next((s for s in after if s.server == slot), None)
        if b is None:
            return 0, 0, True
        req0 = a.requests if a else 0
        err0 = (a.responses_5xx + a.response_errors) if a else 0
        down = b.status.startswith("DOWN")
        return b.requests - req0, b.responses_5xx + b.response_errors - err0, down

    c_req, c_err, c_down = delta(canary_slot)
    s_req, s_err, _ = delta(stable_slot)
    return Observation(c_req, c_err, s_req, s_err, canary_crashed=c_down)


__all__ = ["observation_from_load", "observation_from_stats"]
