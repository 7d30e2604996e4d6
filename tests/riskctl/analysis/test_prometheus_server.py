"""A Prometheus server as analysis provider: a real ``prometheus`` scraping two small instances
found through the local target's file_sd targets file, the provider's counts and quantiles, the
analysis window deciding on them, and a server that cannot answer."""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from risk_service.api.metrics import LATENCY as SERVICE_LATENCY
from risk_service.api.metrics import REQUESTS as SERVICE_REQUESTS
from riskctl.analysis.prometheus import LATENCY, REQUESTS, histogram_quantile, scrape
from riskctl.analysis.prometheus_server import (
    PrometheusServer,
    QueryFailedError,
    ServerUnreachableError,
)
from riskctl.analysis.runner import WindowProbe, run_window, scrape_targets
from riskctl.analysis.verdict import Phase, Verdict
from riskctl.config import Analysis, load_config
from riskctl.router.interface import ServerState, ServerStats
from riskctl.targets.local import LocalTarget, write_prometheus_targets

REPO = Path(__file__).resolve().parents[3]
ROUTE = "/v1/var/historical"
#: The service's latency buckets (src/risk_service/api/metrics.py).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Prometheus' quantile over the window and the reference over the direct scrape's delta are the
#: same interpolation of the same integer bucket counts: only float rounding may differ.
QUANTILE_REL = 1e-9
#: Bound on waiting for the server (first scrape ≈ 6 s after start; PLATFORM-NOTES).
SERVER_WAIT_S = 20.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- instances shaped like risk-service ---------------------------------------------------------


class Instance(ThreadingHTTPServer):
    """A tiny HTTP server exposing the service's request counter and latency histogram.

    POST ``/v1/...`` answers 500 on every ``fail_every``-th request and records a latency from a
    fixed cycle (so quantiles are spread over several buckets); GET ``/healthz`` is counted
    under its own route (not ``/v1`` traffic); GET ``/metrics`` is the exposition.
    """

    def __init__(self, latencies: tuple[float, ...]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.registry = CollectorRegistry()
        self.requests = Counter(
            f"{REQUESTS}_total", "requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            LATENCY, "latency", ["method", "route"], buckets=BUCKETS, registry=self.registry
        )
        self.lock = threading.Lock()
        self.latencies = itertools.cycle(latencies)
        self.count = 0
        self.fail_every = 0

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server = cast(Instance, self.server)
        if self.path == "/metrics":
            self._answer(200, generate_latest(server.registry))
            return
        server.requests.labels("GET", "/healthz", "200").inc()
        self._answer(200, b"ok")

    def do_POST(self) -> None:
        server = cast(Instance, self.server)
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with server.lock:
            server.count += 1
            failed = bool(server.fail_every) and server.count % server.fail_every == 0
            latency = next(server.latencies)
        status = 500 if failed else 200
        server.requests.labels("POST", ROUTE, str(status)).inc()
        server.latency.labels("POST", ROUTE).observe(latency)
        self._answer(status, b"{}")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr log."""


def start_instance(latencies: tuple[float, ...]) -> Instance:
    server = Instance(latencies)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_instance(server: Instance) -> None:
    server.shutdown()
    server.server_close()


# -- a real Prometheus --------------------------------------------------------------------------


@dataclass
class Prom:
    """A running Prometheus scraping ``healthy`` and ``erroring`` (found by file_sd)."""

    url: str
    client: PrometheusServer
    healthy: Instance
    erroring: Instance
    targets_file: Path


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prom]:
    """The real ``prometheus`` binary on a free 127.0.0.1 port, scraping every second the two
    instances listed in a targets file written by the local target's writer; always stopped."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed: run `make setup` (scripts/ensure-system.sh)")
    root = tmp_path_factory.mktemp("prometheus")
    healthy = start_instance((0.002, 0.004, 0.004, 0.02))
    erroring = start_instance((0.003, 0.008, 0.03, 0.03, 0.2))
    targets = root / "envs" / "test" / "prometheus-targets.json"
    write_prometheus_targets(
        targets, "test", {"blue": (healthy.port, "r-stable"), "green": (erroring.port, "r-canary")}
    )
    config = root / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: risk-service\n    file_sd_configs:\n"
        f"      - files: [{json.dumps(str(targets))}]\n        refresh_interval: 1s\n"
    )
    port = free_port()
    log = (root / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={root / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        client = PrometheusServer(url)
        deadline = time.monotonic() + SERVER_WAIT_S
        while not _ready(url):  # before that, connection refused or 503
            assert process.poll() is None, (root / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "prometheus was not ready within 20 s"
            time.sleep(0.05)
        for instance in (healthy, erroring):
            while not client.query(f'up{{instance="{instance.target}"}} == 1', time.time()):
                assert process.poll() is None, (root / "prometheus.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "prometheus scraped nothing within 20 s"
                time.sleep(0.2)
        yield Prom(url, client, healthy, erroring, targets)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        stop_instance(healthy)
        stop_instance(erroring)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def last_scrape(client: PrometheusServer, instance: str) -> float:
    """Start time of the server's latest scrape of ``instance`` (0 if none)."""
    rows = client.query(f'timestamp(up{{instance="{instance}"}})', time.time())
    return rows[0][1] if rows else 0.0


def scraped_after(client: PrometheusServer, instance: str, moment: float) -> float:
    """Wait (bounded) for a scrape of ``instance`` that started after ``moment``; its time."""
    deadline = time.monotonic() + SERVER_WAIT_S
    while (at := last_scrape(client, instance)) <= moment:
        assert time.monotonic() < deadline, f"no scrape of {instance} after {moment}"
        time.sleep(0.1)
    return at


# -- tests --------------------------------------------------------------------------------------


def test_provider_reads_the_services_metric_names() -> None:
    """The metric families the provider queries are the ones risk-service exports."""
    assert SERVICE_REQUESTS.describe()[0].name == REQUESTS
    assert SERVICE_LATENCY.describe()[0].name == LATENCY
    assert SERVICE_LATENCY.describe()[0].type == "histogram"


@pytest.mark.integration
def test_targets_file_is_what_prometheus_discovers(prom: Prom) -> None:
    """The written file_sd entries carry env/slot/release, and the server labels its scrapes so."""
    entries = json.loads(prom.targets_file.read_text())
    assert entries == [
        {"targets": [prom.healthy.target], "labels": {"env": "test", "slot": "blue",
                                                      "release": "r-stable"}},
        {"targets": [prom.erroring.target], "labels": {"env": "test", "slot": "green",
                                                       "release": "r-canary"}},
    ]  # fmt: skip
    rows = prom.client.query('up{env="test", slot="green", release="r-canary"}', time.time())
    assert [labels["instance"] for labels, _ in rows] == [prom.erroring.target]


@pytest.mark.integration
def test_counts_and_quantiles_match_what_was_sent(prom: Prom) -> None:
    """Per instance, /v1 requests and 5xx over the window are exactly those sent (health checks
    excluded), and p50/p99 equal Prometheus' interpolation of the direct scrape's delta."""
    prom.erroring.fail_every = 3
    instances = (prom.healthy, prom.erroring)
    # Both ends of the window are pinned to whole scrapes with no traffic in between: the start
    # is a scrape that began after all earlier traffic, the end one that began after the last
    # answer. So the counts must be exact — tolerance 0, scrape timing cannot move them.
    mark = time.time()
    starts = {i.port: scraped_after(prom.client, i.target, mark) for i in instances}
    before = {i.port: scrape(i.url + "/metrics") for i in instances}
    sent = {prom.healthy.port: 120, prom.erroring.port: 150}
    errors = dict.fromkeys(sent, 0)
    with httpx.Client(timeout=5) as http:
        for instance in instances:
            for _ in range(sent[instance.port]):
                status = http.post(instance.url + ROUTE, json={}).status_code
                errors[instance.port] += status >= 500
            for _ in range(15):
                assert http.get(instance.url + "/healthz").status_code == 200
    done = time.time()
    for instance in instances:
        scraped_after(prom.client, instance.target, done)
    end = time.time()
    assert errors == {prom.healthy.port: 0, prom.erroring.port: 50}
    for instance in instances:
        window = prom.client.window(instance.target, starts[instance.port], end)
        assert (window.requests, window.errors) == (sent[instance.port], errors[instance.port])
        assert not window.reset
        then, now = before[instance.port], scrape(instance.url + "/metrics")
        assert then is not None
        assert now is not None
        delta = now.minus(then).buckets
        assert window.p50 == pytest.approx(histogram_quantile(delta, 0.5), rel=QUANTILE_REL)
        assert window.p99 == pytest.approx(histogram_quantile(delta, 0.99), rel=QUANTILE_REL)
    quiet = prom.client.window(prom.healthy.target, end, end)
    assert (quiet.requests, quiet.errors) == (0, 0)
    assert math.isnan(quiet.p99)


class _Traffic:
    """Real traffic to both instances in a background thread, as users would send it."""

    def __init__(self, instances: tuple[Instance, ...], pause_s: float = 0.01) -> None:
        self.instances = instances
        self.pause_s = pause_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._send, daemon=True)

    def __enter__(self) -> _Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)

    def _send(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self.stop.is_set():
                for instance in self.instances:
                    http.post(instance.url + ROUTE, json={})
                time.sleep(self.pause_s)


@pytest.mark.integration
def test_analysis_on_the_server_fails_the_erroring_slot_and_passes_the_healthy(
    prom: Prom,
) -> None:
    """Deciding on the server's counts alone: a canary answering 25 % 5xx fails at once; a healthy
    canary against that baseline passes the whole window."""
    prom.erroring.fail_every = 4
    # The server is the only counter source: no HAProxy stats, no direct scrape, and no synthetic
    # load (probe_rate 0, and the real traffic claimed is above what the window needs).
    spec = Analysis(
        seconds=3, interval_s=0.5, min_samples=100, probe_rate=0, prometheus_url=prom.url
    )
    probe = WindowProbe(
        stats=None, canary_alive=lambda: True, abort_requested=lambda: None,
        instances={"green": prom.erroring.target, "blue": prom.healthy.target},
    )  # fmt: skip

    def window(canary: str, stable: str) -> Verdict:
        outcome = run_window(
            spec, targets={}, bodies=[{}], headers={}, canary_slot=canary, stable_slot=stable,
            canary_share=0.5, real_rate=1e6, probe=probe,
        )  # fmt: skip
        assert outcome.synthetic_rate == 0
        assert outcome.verdict is not None
        m = outcome.verdict.metrics
        assert m["prom_server_available"] == 1.0
        # The only source, so the verdict's counts are the server's.
        assert m["canary_requests"] == m["prom_server_canary_requests"]
        assert m["baseline_requests"] == m["prom_server_baseline_requests"]
        return outcome.verdict

    with _Traffic((prom.erroring, prom.healthy)):
        failed = window(canary="green", stable="blue")
        passed = window(canary="blue", stable="green")
    assert failed.phase is Phase.FAILED, failed.summary()
    assert "canary error rate" in failed.reasons[0]
    f = failed.metrics
    # Every 4th answer was a 5xx: over any run of n requests that is n/4 give or take one.
    assert abs(f["prom_server_canary_5xx"] - f["prom_server_canary_requests"] / 4) <= 1
    assert f["prom_server_baseline_5xx"] == 0
    assert passed.phase is Phase.SUCCESSFUL, passed.summary()
    p = passed.metrics
    assert p["prom_server_canary_requests"] >= 100
    assert p["prom_server_canary_5xx"] == 0
    assert p["prom_server_baseline_5xx"] > 0
    assert math.isfinite(p["prom_server_canary_p99_ms"])


@pytest.mark.integration
def test_query_errors_are_clear(prom: Prom) -> None:
    """A bad query and a server that is not Prometheus raise QueryFailedError with the reason."""
    with pytest.raises(QueryFailedError, match="bad_data"):
        prom.client.query("sum(", time.time())
    not_prometheus = PrometheusServer(prom.healthy.url)
    with pytest.raises(QueryFailedError, match="not Prometheus' JSON"):
        not_prometheus.window("127.0.0.1:1", time.time() - 1, time.time())


def test_unreachable_server_is_a_clear_error() -> None:
    """Nothing listening, or not an http(s) URL: ServerUnreachableError naming the server."""
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnreachableError, match=f"cannot reach {url}"):
        PrometheusServer(url, timeout=1).window("127.0.0.1:1", time.time() - 1, time.time())
    with pytest.raises(ServerUnreachableError, match="not an http"):
        PrometheusServer("127.0.0.1:9090")


def test_unreachable_server_is_recorded_and_the_others_decide() -> None:
    """A window with an unreachable server still decides on the other sources (here: synthetic
    load to the instances addressed directly) and says the server was unavailable."""
    blue, green = start_instance((0.002,)), start_instance((0.002,))
    try:
        spec = Analysis(
            seconds=1.5, interval_s=0.5, min_samples=20, probe_rate=0,
            prometheus_url=f"http://127.0.0.1:{free_port()}",
        )  # fmt: skip
        targets = {"green": green.url + ROUTE, "blue": blue.url + ROUTE}
        probe = WindowProbe(stats=None, canary_alive=lambda: True, abort_requested=lambda: None)
        outcome = run_window(
            spec, targets=targets, bodies=[{}], headers={}, canary_slot="green",
            stable_slot="blue", canary_share=0.5, real_rate=0.0, probe=probe,
        )  # fmt: skip
    finally:
        stop_instance(blue)
        stop_instance(green)
    verdict = outcome.verdict
    assert verdict is not None
    assert verdict.phase is Phase.SUCCESSFUL
    assert verdict.reasons[-1].startswith("prometheus server unavailable: cannot reach")
    assert "prometheus server unavailable" in verdict.summary()
    assert verdict.metrics["prom_server_available"] == 0.0
    assert "prom_server_canary_requests" not in verdict.metrics


def test_scrape_targets_of_a_window() -> None:
    """The probe's scrape targets win; directly addressed slots give theirs; a front door none."""
    probe = WindowProbe(stats=None, canary_alive=lambda: True, abort_requested=lambda: None)
    direct = {"green": "http://127.0.0.1:8302/v1/var", "blue": "http://127.0.0.1:8301/v1/var"}
    assert scrape_targets(probe, direct) == {"green": "127.0.0.1:8302", "blue": "127.0.0.1:8301"}
    assert scrape_targets(probe, "http://127.0.0.1:8300/v1/var") == {}
    given = WindowProbe(
        stats=None, canary_alive=lambda: True, abort_requested=lambda: None,
        instances={"green": "127.0.0.1:9"},
    )  # fmt: skip
    assert scrape_targets(given, "http://127.0.0.1:8300/v1/var") == {"green": "127.0.0.1:9"}


def test_window_without_scrape_targets_says_the_server_was_not_queried() -> None:
    """Behind a front door with no scrape targets given, the verdict says the server was not
    asked, rather than passing on it silently."""
    spec = Analysis(
        seconds=0.2, interval_s=0.1, min_samples=1, probe_rate=0, prometheus_url="http://x:9090"
    )
    probe = WindowProbe(stats=None, canary_alive=lambda: True, abort_requested=lambda: None)
    outcome = run_window(
        spec, targets="http://127.0.0.1:1/v1/var", bodies=[{}], headers={}, canary_slot="green",
        stable_slot="blue", canary_share=0.1, real_rate=1e6, probe=probe,
    )  # fmt: skip
    assert outcome.verdict is not None
    assert outcome.verdict.reasons[-1] == (
        "prometheus server not queried: no scrape target known for slot green, blue"
    )


class _FakeRouter:
    """Records weights; enough of HAProxyRouter for LocalTarget.route."""

    def __init__(self) -> None:
        self.weights: dict[str, int] = {}

    def stats(self, backend: str) -> list[ServerStats]:
        return []

    def set_address(self, backend: str, server: str, host: str, port: int) -> None:
        return None

    def set_state(self, backend: str, server: str, state: ServerState) -> None:
        return None

    def set_weight(self, backend: str, server: str, weight: int) -> None:
        self.weights[server] = weight


def test_routing_rewrites_the_targets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each routing writes the occupied slots with their releases; a parked slot leaves the file;
    the same routing again leaves the file untouched (idempotent, atomic, no temp files)."""
    target = LocalTarget(tmp_path, load_config(REPO / "delivery.toml").config)
    router = _FakeRouter()
    programs = {"riskctl-prod-blue-r1": ("blue", "r1"), "riskctl-prod-green-r2": ("green", "r2")}
    monkeypatch.setattr(target, "router", lambda: router)
    monkeypatch.setattr(target, "addresses", lambda env: {})
    monkeypatch.setattr(target, "programs", lambda env: programs)
    path = target.prometheus_targets_path("prod")
    assert path == tmp_path / "envs" / "prod" / "prometheus-targets.json"

    target.route("prod", {"blue": 8301, "green": 8302}, {"blue": 90, "green": 10})
    assert router.weights == {"blue": 90, "green": 10}
    assert [(e["targets"], e["labels"]) for e in json.loads(path.read_text())] == [
        (["127.0.0.1:8301"], {"env": "prod", "slot": "blue", "release": "r1"}),
        (["127.0.0.1:8302"], {"env": "prod", "slot": "green", "release": "r2"}),
    ]
    assert path.stat().st_mode & 0o777 == 0o644

    del programs["riskctl-prod-blue-r1"]
    target.route("prod", {"green": 8302}, {"green": 100})
    assert [e["labels"]["slot"] for e in json.loads(path.read_text())] == ["green"]
    inode = os.stat(path).st_ino
    target.route("prod", {"green": 8302}, {"green": 100})
    assert os.stat(path).st_ino == inode  # unchanged: not rewritten
    assert sorted(p.name for p in path.parent.iterdir()) == ["prometheus-targets.json"]
