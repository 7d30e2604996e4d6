"""Prometheus metrics, correct across uvicorn workers.

``risk-service serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before prometheus-client is imported, so
every worker writes its samples to shared files and ``/metrics`` (served by any worker) aggregates
them.  Without that variable (a single in-process server) the default registry is used.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

REQUESTS = Counter(
    "risk_service_http_requests_total",
    "HTTP requests by method, route template and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "risk_service_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CALCULATIONS = Counter(
    "risk_service_var_calculations_total",
    "VaR calculations served, by endpoint and method.",
    ["endpoint", "method"],
)
REJECTED = Counter(
    "risk_service_rejected_requests_total",
    "Requests refused with a 4xx, by error code.",
    ["code"],
)


def render() -> tuple[bytes, str]:
    """The exposition text of this process, or of all workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
