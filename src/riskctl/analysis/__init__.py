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
"""

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
from riskctl.analysis.verdict import (
    AnalysisPolicy,
    Observation,
    Phase,
    Verdict,
    assess,
)

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
