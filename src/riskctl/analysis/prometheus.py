"""The services' own Prometheus metrics as an analysis provider.

Each instance exposes ``/metrics`` (multiprocess-correct across its workers). Two snapshots —
before and after a window — give, per slot, the requests and 5xx answers of the ``/v1`` routes
(``risk_service_http_requests_total``) and their latency histogram
(``risk_service_http_request_duration_seconds``), which sees *all* traffic, real and synthetic,
unlike the load generator's own samples. Parsing uses prometheus-client's exposition parser.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from riskctl.riskclient import API_PREFIX

REQUESTS = "risk_service_http_requests"
LATENCY = "risk_service_http_request_duration_seconds"


@dataclass(frozen=True)
class InstanceMetrics:
    """Cumulative counters of one instance's ``/v1`` traffic."""

    requests: float = 0.0
    errors: float = 0.0  # 5xx
    buckets: Mapping[float, float] = field(default_factory=dict)  # le -> cumulative count

    def minus(self, earlier: InstanceMetrics) -> InstanceMetrics:
        """The traffic between ``earlier`` and this snapshot (a restart resets to this one)."""
        if self.requests < earlier.requests:
            return self
        return InstanceMetrics(
            self.requests - earlier.requests,
            self.errors - earlier.errors,
            {le: n - earlier.buckets.get(le, 0.0) for le, n in self.buckets.items()},
        )


def parse_metrics(text: str, route_prefix: str = API_PREFIX) -> InstanceMetrics:
    """Sum the ``route_prefix`` series of the request counter and latency histogram."""
    requests = errors = 0.0
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            route = sample.labels.get("route", "")
            if not route.startswith(route_prefix):
                continue
            if family.name == REQUESTS and sample.name.endswith("_total"):
                requests += sample.value
                if sample.labels.get("status", "").startswith("5"):
                    errors += sample.value
            elif family.name == LATENCY and sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + sample.value
    return InstanceMetrics(requests, errors, buckets)


def scrape(url: str, timeout: float = 2.0) -> InstanceMetrics | None:
    """One instance's metrics, or None when it cannot be read (the provider is then ignored)."""
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return parse_metrics(response.text)
    except ValueError:
        return None


def histogram_quantile(buckets: Mapping[float, float], q: float) -> float:
    """Prometheus' ``histogram_quantile``: linear interpolation inside the bucket holding q."""
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] <= 0:
        return math.nan
    total = ordered[-1][1]
    rank = q * total
    lower_le, lower_count = 0.0, 0.0
    for le, count in ordered:
        if count >= rank:
            if math.isinf(le):
                return lower_le  # the highest finite bound, as Prometheus does
            width = count - lower_count
            frac = (rank - lower_count) / width if width > 0 else 1.0
            return lower_le + (le - lower_le) * frac
        lower_le, lower_count = le, count
    return lower_le


def pseudo_samples(buckets: Mapping[float, float], limit: int = 5000) -> list[float]:
    """Latencies standing for a histogram: each bucket's observations at its midpoint.

    Enough for a rank test (Mann–Whitney handles the ties); capped at ``limit`` values,
    keeping the bucket proportions.
    """
    ordered = sorted(buckets.items())
    total = ordered[-1][1] if ordered else 0.0
    if total <= 0:
        return []
    scale = min(1.0, limit / total)
    out: list[float] = []
    lower_le, lower_count = 0.0, 0.0
    for le, count in ordered:
        n = round((count - lower_count) * scale)
        value = lower_le * 2 if math.isinf(le) else (lower_le + le) / 2
        out.extend([value] * n)
        lower_le, lower_count = (le if not math.isinf(le) else lower_le), count
    return out


__all__ = [
    "InstanceMetrics",
    "histogram_quantile",
    "parse_metrics",
    "pseudo_samples",
    "scrape",
]
