"""The services' Prometheus metrics as an analysis provider: parsing, deltas, quantiles, and a
real risk-service scraped over HTTP."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from riskctl.analysis.load import LoadResult, Sample
from riskctl.analysis.prometheus import (
    InstanceMetrics,
    histogram_quantile,
    parse_metrics,
    pseudo_samples,
    scrape,
)
from riskctl.analysis.runner import _observe

EXPOSITION = """\
# HELP risk_service_http_requests_total HTTP requests.
# TYPE risk_service_http_requests_total counter
risk_service_http_requests_total{method="POST",route="/v1/var",status="200"} 90.0
risk_service_http_requests_total{method="POST",route="/v1/var",status="500"} 10.0
risk_service_http_requests_total{method="GET",route="/healthz",status="200"} 1000.0
# HELP risk_service_http_request_duration_seconds Latency.
# TYPE risk_service_http_request_duration_seconds histogram
risk_service_http_request_duration_seconds_bucket{le="0.001",method="POST",route="/v1/var"} 0.0
risk_service_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/v1/var"} 50.0
risk_service_http_request_duration_seconds_bucket{le="0.01",method="POST",route="/v1/var"} 100.0
risk_service_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/var"} 100.0
risk_service_http_request_duration_seconds_count{method="POST",route="/v1/var"} 100.0
risk_service_http_request_duration_seconds_sum{method="POST",route="/v1/var"} 0.5
"""


def test_parse_counts_only_v1_routes() -> None:
    """Requests and 5xx of /v1 routes are summed; health checks are not traffic."""
    m = parse_metrics(EXPOSITION)
    assert (m.requests, m.errors) == (100.0, 10.0)
    assert m.buckets[0.005] == 50.0
    assert m.buckets[math.inf] == 100.0


def test_histogram_quantile_follows_prometheus() -> None:
    """p50 is the 0.005 bound (rank 50 closes that bucket); p75 interpolates to 7.5 ms."""
    buckets = parse_metrics(EXPOSITION).buckets
    assert histogram_quantile(buckets, 0.5) == pytest.approx(0.005)
    assert histogram_quantile(buckets, 0.75) == pytest.approx(0.0075)
    assert math.isnan(histogram_quantile({}, 0.5))
    assert histogram_quantile({0.01: 0.0, math.inf: 4.0}, 0.99) == 0.01  # highest finite bound


def test_delta_and_restart() -> None:
    """A window is the difference of two snapshots; a restarted instance counts from zero."""
    before = InstanceMetrics(100, 10, {0.005: 50, math.inf: 100})
    after = InstanceMetrics(160, 40, {0.005: 60, math.inf: 160})
    delta = after.minus(before)
    assert (delta.requests, delta.errors, delta.buckets[0.005]) == (60, 30, 10)
    restarted = InstanceMetrics(5, 0, {math.inf: 5})
    assert restarted.minus(before) == restarted


def test_pseudo_samples_keep_proportions() -> None:
    """Bucket midpoints stand for the observations, in proportion, capped."""
    values = pseudo_samples({0.005: 50, 0.01: 100, math.inf: 100}, limit=10)
    assert sorted(set(values)) == [0.0025, 0.0075]
    assert values.count(0.0025) == values.count(0.0075) == 5
    assert pseudo_samples({}) == []


def test_service_counters_win_when_they_saw_more() -> None:
    """Real traffic the load generator did not send still counts, from the services' counters."""
    samples = LoadResult([Sample("green", 200, 0.01)] * 10 + [Sample("blue", 200, 0.01)] * 90)
    metrics = {"green": InstanceMetrics(400, 40), "blue": InstanceMetrics(50, 0)}
    obs = _observe(
        samples, before=None, after=None, canary="green", stable="blue", crashed=False,
        metrics=metrics,
    )  # fmt: skip
    assert (obs.canary_requests, obs.canary_errors) == (400, 40)
    assert (obs.baseline_requests, obs.baseline_errors) == (90, 0)  # samples saw more


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
def test_scrape_a_real_risk_service(tmp_path: Path) -> None:
    """A real `risk-service serve` (2 workers): the provider sees its /v1 requests and 4xx/5xx."""
    port = _free_port()
    env = {
        **os.environ,
        "RISK_SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "RISK_SERVICE_ENVIRONMENT": "dev",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "risk-service"), "serve", "--port", str(port),
         "--workers", "2"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while scrape(base + "/metrics") is None:
            assert time.monotonic() < deadline, "risk-service did not start"
            time.sleep(0.2)
        before = scrape(base + "/metrics")
        assert before is not None
        with httpx.Client(timeout=5) as client:
            for _ in range(6):
                ok = client.post(
                    base + "/v1/var", json={"returns": [0.1, -0.2, 0.3], "confidence": 0.5}
                )
                assert ok.status_code == 200
            assert client.post(base + "/v1/var", json={"returns": []}).status_code == 422
        after = scrape(base + "/metrics")
        assert after is not None
        delta = after.minus(before)
        assert delta.requests == 7
        assert delta.errors == 0  # 4xx is the client's fault, not an error of the release
        assert delta.buckets[math.inf] == 7
        assert 0 < histogram_quantile(delta.buckets, 0.5) < 1.0
    finally:
        server.terminate()
        server.wait(15)
    assert scrape(base + "/metrics", timeout=0.5) is None
