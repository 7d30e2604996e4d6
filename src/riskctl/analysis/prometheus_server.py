"""A Prometheus server as an analysis provider (SPEC §4: "where one is configured").

The direct scrape (:mod:`riskctl.analysis.prometheus`) reads each instance's ``/metrics``
itself; this asks a Prometheus server that scrapes the instances (the local target writes a
file_sd targets file per environment, ``$RISKCTL_HOME/envs/ENV/prometheus-targets.json``). An
instance is its scrape target, ``instance="127.0.0.1:PORT"``. For a window ``[start, end]`` it
answers, per instance, the ``/v1`` requests and 5xx answers (``risk_service_http_requests_total``)
and the latency p50/p99 from the server's ``histogram_quantile`` over
``risk_service_http_request_duration_seconds``.

Counts are two instant queries — the sums at ``end`` and at ``start`` — the same two-snapshot
reading as the direct scrape, rather than ``increase()``: over a window of a few scrapes its
extrapolation to the window's edges gives fractional, approximate counts, and it drops the first
sample of a series born inside the window (a new canary's first requests, a first 5xx). The
quantiles use the same difference of the bucket counters. Needs only the HTTP API
(``/api/v1/query``), with a bounded timeout.

Exceptions::

    PrometheusServerError       the server could not answer a query
    ├── ServerUnreachableError  no HTTP answer: refused, timed out, not a usable URL
    └── QueryFailedError        an answer that is no result: an HTTP or PromQL error, not
                                JSON, not a vector
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from riskctl.analysis.prometheus import LATENCY, REQUESTS
from riskctl.riskclient import API_PREFIX

__all__ = [
    "PrometheusServer",
    "PrometheusServerError",
    "QueryFailedError",
    "ServerUnreachableError",
    "ServerWindow",
]

#: The ``/v1`` routes, as the direct scrape counts them (``route.startswith("/v1/")``).
ROUTES = API_PREFIX + ".*"


class PrometheusServerError(RuntimeError):
    """The Prometheus server could not answer a query."""


class ServerUnreachableError(PrometheusServerError):
    """No HTTP answer from the server (refused, timed out, not a usable URL)."""


class QueryFailedError(PrometheusServerError):
    """The server answered, but not with a result."""


@dataclass(frozen=True, slots=True)
class ServerWindow:
    """One instance's ``/v1`` traffic in a window, as the Prometheus server saw it.

    ``reset``: the counters went back during the window (the instance restarted), so the counts
    are those since the restart. Quantiles are seconds, NaN without traffic.
    """

    requests: int
    errors: int  # 5xx
    p50: float
    p99: float
    reset: bool = False


def _label(value: str) -> str:
    """A PromQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class PrometheusServer:
    """Instant queries against one Prometheus server's HTTP API."""

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServerUnreachableError(f"not an http(s) URL of a Prometheus server: {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def query(self, expr: str, at: float) -> list[tuple[dict[str, str], float]]:
        """``expr`` evaluated at ``at`` (Unix seconds): (labels, value) of each element."""
        endpoint = f"{self.url}/api/v1/query"
        params = {"query": expr, "time": f"{at:.3f}"}
        try:
            response = httpx.get(endpoint, params=params, timeout=self.timeout)
        except httpx.TimeoutException:
            raise ServerUnreachableError(
                f"no answer from {self.url} within {self.timeout:g} s"
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ServerUnreachableError(
                f"cannot reach {self.url} ({type(exc).__name__}: {exc})"
            ) from None
        try:
            body: Any = response.json()
        except ValueError:
            raise QueryFailedError(
                f"{endpoint} answered HTTP {response.status_code} that is not Prometheus' "
                f"JSON: {response.text[:80]!r}"
            ) from None
        if not isinstance(body, dict) or body.get("status") != "success":
            info = body if isinstance(body, dict) else {}
            raise QueryFailedError(
                f"{self.url} refused the query (HTTP {response.status_code}, "
                f"{info.get('errorType', 'error')}: {info.get('error', str(body)[:80])})"
            )
        try:
            data = body["data"]
            if data["resultType"] != "vector":
                raise QueryFailedError(f"expected a vector from {expr!r}, got {data['resultType']}")
            return [
                ({str(k): str(v) for k, v in item["metric"].items()}, float(item["value"][1]))
                for item in data["result"]
            ]
        except (KeyError, IndexError, TypeError, ValueError):
            raise QueryFailedError(f"{self.url} answered a malformed result for {expr!r}") from None

    def window(self, instance: str, start: float, end: float) -> ServerWindow:
        """Requests, 5xx and latency p50/p99 of ``instance``'s ``/v1`` routes in ``[start, end]``.

        Each end is the server's last scrape at or before it; a series that did not exist at
        ``start`` counts from zero.
        """
        # Whole milliseconds, as Prometheus stores sample times, so `offset` lands on `start`.
        start, end = round(start, 3), round(end, 3)
        if end <= start:  # an empty window (and PromQL refuses `offset 0ms`)
            return ServerWindow(requests=0, errors=0, p50=math.nan, p99=math.nan)
        selector = f"{{instance={_label(instance)},route=~{_label(ROUTES)}}}"
        by_status = f"sum by (status) ({REQUESTS}_total{selector})"

        def totals(at: float) -> tuple[float, float]:
            rows = self.query(by_status, at)
            errors = sum(v for labels, v in rows if labels.get("status", "").startswith("5"))
            return sum(v for _, v in rows), errors

        req_end, err_end = totals(end)
        req_start, err_start = totals(start)
        reset = req_end < req_start or err_end < err_start
        if reset:
            requests, errors = req_end, err_end
        else:
            requests, errors = req_end - req_start, err_end - err_start

        buckets = f"sum by (le) ({LATENCY}_bucket{selector})"
        if not reset:
            offset_ms = round((end - start) * 1e3)
            # Buckets that did not exist at the start count from zero (`or` keeps those).
            buckets = (
                f"({buckets} - sum by (le) ({LATENCY}_bucket{selector} offset {offset_ms}ms))"
                f" or {buckets}"
            )

        def quantile(q: float) -> float:
            rows = self.query(f"histogram_quantile({q}, {buckets})", end)
            return rows[0][1] if rows else math.nan

        return ServerWindow(
            requests=round(requests),
            errors=round(errors),
            p50=quantile(0.5),
            p99=quantile(0.99),
            reset=reset,
        )
