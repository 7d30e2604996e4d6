"""Canary analysis: compare a canary with its stable baseline and decide.

Pure decisions live in :mod:`riskctl.analysis.verdict` (observations in, verdict out, tested with
literal numbers, the way Argo Rollouts tests ``assessMetricStatus``); the statistics in
:mod:`riskctl.analysis.statistics`, the paired figures of a window in
:mod:`riskctl.analysis.evidence` and the samples a decision needs in
:mod:`riskctl.analysis.sample_size` (their error rates measured by ``bench/bench_judge.py``);
where observations come from is a provider
(:mod:`riskctl.analysis.providers`: synthetic samples and HAProxy counters;
:mod:`riskctl.analysis.prometheus`: each instance's ``/metrics``;
:mod:`riskctl.analysis.prometheus_server`: a Prometheus server, where ``prometheus_url`` is
configured).

The names below are imported on first use (PEP 562): importing a submodule — the rollout
machine imports :mod:`riskctl.analysis.phase` on every decision, ``riskctl abort``'s included —
must not load NumPy, SciPy, httpx or the Prometheus client (issue 11, item 4).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskctl.analysis.phase import Phase
    from riskctl.analysis.prometheus_server import (
        PrometheusServer,
        PrometheusServerError,
        ServerWindow,
    )
    from riskctl.analysis.statistics import (
        ErrorRateTest,
        LatencyTest,
        compare_error_rates,
        compare_latencies,
    )
    from riskctl.analysis.verdict import AnalysisPolicy, Observation, Verdict, assess

_HOMES = {
    "AnalysisPolicy": "verdict",
    "ErrorRateTest": "statistics",
    "LatencyTest": "statistics",
    "Observation": "verdict",
    "Phase": "phase",
    "PrometheusServer": "prometheus_server",
    "PrometheusServerError": "prometheus_server",
    "ServerWindow": "prometheus_server",
    "Verdict": "verdict",
    "assess": "verdict",
    "compare_error_rates": "statistics",
    "compare_latencies": "statistics",
}

__all__ = [
    "AnalysisPolicy",
    "ErrorRateTest",
    "LatencyTest",
    "Observation",
    "Phase",
    "PrometheusServer",
    "PrometheusServerError",
    "ServerWindow",
    "Verdict",
    "assess",
    "compare_error_rates",
    "compare_latencies",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
