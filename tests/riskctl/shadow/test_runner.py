"""The shadow runner against real risk-service instances (uvicorn on 127.0.0.1, shared SQLite
store): golden set plus recent real requests sampled by the stable release, replayed to both.

Defective or older releases are the real application behind a small ASGI wrapper (VaR × 1.5,
errors, slowness, no sample endpoint), so the contract riskctl relies on is the real one.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from risk_service.api import create_app, sampling
from risk_service.auth import Scope, create_token
from risk_service.config import Settings
from risk_service.store import database
from risk_service.store.models import RequestSample
from riskctl.riskclient import REQUEST_SAMPLES, SHADOW_HEADERS
from riskctl.shadow import Tolerance
from riskctl.shadow.golden import GoldenSet, generate_golden_set
from riskctl.shadow.runner import fetch_recent, run_shadow
from tests.service.conftest import LiveServer, free_port

SAMPLES = REQUEST_SAMPLES.path
TOL = Tolerance(rel=1e-9, abs=1e-6)
RETURNS = [0.012, -0.021, 0.004, -0.035, 0.018, -0.009, 0.027, -0.014, 0.006, -0.002]
App = Callable[..., Any]


# --- fetch_recent: what the stable release says, and what is replayable -----------------------


def _client(status: int, payload: Any = None, content: bytes | None = None) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == SAMPLES
        if content is not None:
            return httpx.Response(status, content=content)
        return httpx.Response(status, json=payload)

    return httpx.Client(transport=httpx.MockTransport(handler))


def _sample(path: str = "/v1/var", method: str = "POST", body: Any = None) -> dict[str, Any]:
    return {"method": method, "path": path, "body": {"returns": RETURNS} if body is None else body}


@pytest.mark.parametrize(
    ("status", "payload", "content", "reason"),
    [
        (404, {"error": {}}, None, "has no /v1/admin/request-samples: an older release"),
        (401, {"error": {}}, None, "refused /v1/admin/request-samples with HTTP 401"),
        (403, {"error": {}}, None, "riskctl's token needs the admin scope"),
        (503, {"error": {}}, None, "answered /v1/admin/request-samples with HTTP 503"),
        (200, None, b"not json", "with HTTP 200"),
        (200, {"samples": []}, None, "has sampled none yet"),
        (200, {"samples": [_sample(SAMPLES), _sample(method="GET")]}, None, "replayable"),
    ],
)
def test_nothing_to_replay_says_why(
    status: int, payload: Any, content: bytes | None, reason: str
) -> None:
    """404, refusals, errors, garbage and empty lists give no requests and a note naming why."""
    with _client(status, payload, content) as client:
        recent, note = fetch_recent(client, "http://127.0.0.1:9", 50)
    assert recent == []
    assert note.startswith("no recent requests to replay (")
    assert reason in note


def test_only_calculation_posts_are_replayed_up_to_the_limit() -> None:
    """Other methods, paths or bodies are skipped; at most ``limit`` come back, newest first."""
    samples = [
        _sample(body={"returns": [0.1, -0.2]}),
        _sample("/v1/runs/2026-11-25", "GET"),
        _sample("/v1/portfolio/var", body={"positions": {"A": 1.0}}),
        _sample(body=["not", "an", "object"]),
        _sample(body={"returns": [0.3, -0.4]}),
    ]
    with _client(200, {"samples": samples}) as client:
        recent, note = fetch_recent(client, "http://127.0.0.1:9", 50)
        two, _ = fetch_recent(client, "http://127.0.0.1:9", 2)
    assert [(r.path, dict(r.body)) for r in recent] == [
        ("/v1/var", {"returns": [0.1, -0.2]}),
        ("/v1/portfolio/var", {"positions": {"A": 1.0}}),
        ("/v1/var", {"returns": [0.3, -0.4]}),
    ]
    assert note == "2 sampled requests not replayable, skipped"
    assert [r.describe() for r in two] == ["POST /v1/var", "POST /v1/portfolio/var"]


def test_replay_disabled_or_unreachable_is_a_note() -> None:
    """replay_recent = 0 asks nothing; an unreachable stable release is a note, not an error."""
    with _client(200, {"samples": [_sample()]}) as client:
        assert fetch_recent(client, "http://127.0.0.1:9", 0) == (
            [],
            "no recent requests to replay (replay_recent is 0)",
        )
    with httpx.Client(timeout=2) as client:
        recent, note = fetch_recent(client, f"http://127.0.0.1:{free_port()}", 5)
    assert recent == []
    assert "did not answer /v1/admin/request-samples: ConnectError" in note


# --- run_shadow against real instances ---------------------------------------------------------


def _rewrite(app: App, path: str, change: Callable[[int, Any], tuple[int, Any]]) -> App:
    """``app`` with the JSON answers of ``path`` passed through ``change(status, body)``."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != path:
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            status, body = change(start["status"], json.loads(b"".join(chunks)))
            data = json.dumps(body).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(data)).encode()))
            await send({**start, "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": data})

        await app(scope, receive, capture)

    return wrapped


def _scaled(app: App, path: str, factor: float) -> App:
    """VaR (and ES) × ``factor`` on ``path``: the defect the shadow comparison exists for."""

    def change(status: int, body: Any) -> tuple[int, Any]:
        if status == 200:
            for key in ("var", "es", "portfolio_var", "expected_shortfall"):
                if key in body:
                    body[key] *= factor
        return status, body

    return _rewrite(app, path, change)


def _without_samples(app: App) -> App:
    """An older release: no sample endpoint (404 with the standard error body)."""
    error = {"error": {"code": "not_found", "message": "Not Found", "field": None}}
    return _rewrite(app, SAMPLES, lambda _status, _body: (404, error))


def _failing(app: App, path: str, switch: dict[str, bool]) -> App:
    """``path`` answers 500 while ``switch["on"]`` (without reaching the application)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == path and switch["on"]:
            data = b'{"error": {"code": "internal_error", "message": "boom", "field": null}}'
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": data})
            return
        await app(scope, receive, send)

    return wrapped


def _slow(app: App, path: str, seconds: float) -> App:
    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == path:
            await asyncio.sleep(seconds)
        await app(scope, receive, send)

    return wrapped


@pytest.fixture(autouse=True)
def _no_service_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The instances never read the caller's RISK_SERVICE_* settings."""
    for key in list(os.environ):
        if key.startswith("RISK_SERVICE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A migrated SQLite store shared by the stable and the new instance."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = database.make_engine(url)
    database.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def golden() -> GoldenSet:
    """A small golden set (3 portfolios x 3 methods)."""
    data = generate_golden_set(n_symbols=4, n_days=120, n_portfolios=2)
    return GoldenSet(data["portfolios"], data["returns"])


def _app(url: str, environment: str = "dev") -> App:
    settings = Settings(
        _env_file=None,
        environment=environment,
        database_url=url,
        version="1.0.0",
        log_level="WARNING",
        request_sample_every=1,
        request_sample_size=50,
    )
    return create_app(settings)


def _real_traffic(url: str, n_var: int, n_portfolio: int, headers: Any = None) -> None:
    """Requests as a real caller sends them (no riskctl header), then wait for the writes."""
    with httpx.Client(base_url=url, timeout=30, headers=headers or {}) as c:
        for k in range(n_var):
            body = {"returns": [r * (1 + k / 10) for r in RETURNS], "confidence": 0.9}
            assert c.post("/v1/var", json=body).status_code == 200
        for k in range(n_portfolio):
            body = {
                "positions": {"A": 1e6 * (k + 1), "B": -4e5},
                "returns": {"A": RETURNS, "B": RETURNS[::-1]},
                "confidence": 0.9,
            }
            assert c.post("/v1/portfolio/var", json=body).status_code == 200
    sampling.flush()


def _samples_in_store(url: str) -> int:
    engine = database.make_engine(url)
    try:
        with database.session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(RequestSample)) or 0)
    finally:
        engine.dispose()


@pytest.mark.integration
def test_recent_requests_are_replayed_and_agree(store_url: str, golden: GoldenSet) -> None:
    """Same release twice: golden set and six recent requests agree; none of it is sampled."""
    with LiveServer(_app(store_url)) as stable, LiveServer(_app(store_url)) as new:
        _real_traffic(stable.url, 4, 2)
        assert _samples_in_store(store_url) == 6
        report = run_shadow(golden, stable.url, new.url, TOL, timeout=30)
        sampling.flush()
    assert report.passed, report.lines()
    assert (report.requests, report.replayed) == (9 + 6, 6)
    assert "(9 golden-set, 6 recent replayed)" in report.summary()
    assert _samples_in_store(store_url) == 6, "shadow traffic must not be sampled"


@pytest.mark.integration
def test_a_move_only_real_requests_show_is_blocked(store_url: str, golden: GoldenSet) -> None:
    """VaR × 1.5 on /v1/var only: the golden set (portfolio VaR) passes, the replay blocks."""
    new_app = _scaled(_app(store_url), "/v1/var", 1.5)
    with LiveServer(_app(store_url)) as stable, LiveServer(new_app) as new:
        _real_traffic(stable.url, 3, 1)
        report = run_shadow(golden, stable.url, new.url, TOL)
    assert not report.passed
    assert {d.request for d in report.breaches} == {"recent-2", "recent-3", "recent-4"}
    lines = report.lines()
    assert "  recent requests: 4 replayed, 3 beyond tolerance" in lines
    assert any(line.startswith("    recent-") and "(+50.00 %)" in line for line in lines)


@pytest.mark.integration
def test_replay_is_bounded_by_replay_recent(store_url: str, golden: GoldenSet) -> None:
    """replay_recent = 2 replays the two newest samples and no more; 0 replays none."""
    with LiveServer(_app(store_url)) as stable, LiveServer(_app(store_url)) as new:
        _real_traffic(stable.url, 3, 0)
        report = run_shadow(golden, stable.url, new.url, TOL, replay_recent=2)
        none = run_shadow(golden, stable.url, new.url, TOL, replay_recent=0)
    assert report.passed
    assert report.replayed == 2
    assert none.replayed == 0
    assert "no recent requests to replay (replay_recent is 0)" in none.summary()


@pytest.mark.integration
def test_an_older_stable_release_leaves_the_golden_set_alone(
    store_url: str, golden: GoldenSet
) -> None:
    """A stable release without the sample endpoint (404): golden set only, with the note."""
    with (
        LiveServer(_without_samples(_app(store_url))) as stable,
        LiveServer(_app(store_url)) as new,
    ):
        _real_traffic(stable.url, 2, 0)
        report = run_shadow(golden, stable.url, new.url, TOL)
    assert report.passed, report.lines()
    assert (report.requests, report.replayed) == (9, 0)
    assert "no recent requests to replay (the stable release has no" in report.summary()


@pytest.mark.integration
def test_prod_replay_needs_an_admin_token(store_url: str, golden: GoldenSet) -> None:
    """In prod a compute token cannot list samples (403, a note); an admin token replays them."""
    engine = database.make_engine(store_url)
    factory = database.session_factory(engine)
    compute = create_token(factory, "riskctl-compute", Scope.COMPUTE)
    admin = create_token(factory, "riskctl-admin", Scope.ADMIN)
    engine.dispose()
    with LiveServer(_app(store_url, "prod")) as stable, LiveServer(_app(store_url, "prod")) as new:
        _real_traffic(stable.url, 2, 1, {"Authorization": f"Bearer {compute}"})
        refused = run_shadow(
            golden, stable.url, new.url, TOL, headers={"Authorization": f"Bearer {compute}"}
        )
        allowed = run_shadow(
            golden, stable.url, new.url, TOL, headers={"Authorization": f"Bearer {admin}"}
        )
    assert refused.passed
    assert refused.replayed == 0
    assert "HTTP 403: riskctl's token needs the admin scope" in refused.summary()
    assert allowed.passed, allowed.lines()
    assert allowed.replayed == 3


@pytest.mark.integration
def test_error_on_one_side_only_is_a_difference(store_url: str, golden: GoldenSet) -> None:
    """Stable 200 / new 500 on a replayed request blocks; so does stable 500 / new 200."""
    stable_fails = {"on": False}
    stable_app = _failing(_app(store_url), "/v1/var", stable_fails)
    new_app = _failing(_app(store_url), "/v1/var", {"on": True})
    with LiveServer(stable_app) as stable, LiveServer(new_app) as new:
        _real_traffic(stable.url, 1, 1)
        report = run_shadow(golden, stable.url, new.url, TOL)
    assert not report.passed
    assert report.failures == (
        "recent-2 (POST /v1/var): stable release HTTP 200, new release HTTP 500",
    )
    with LiveServer(stable_app) as stable, LiveServer(_app(store_url)) as new:
        stable_fails["on"] = True
        reverse = run_shadow(golden, stable.url, new.url, TOL)
    assert not reverse.passed
    assert reverse.failures == (
        "recent-2 (POST /v1/var): stable release HTTP 500, new release HTTP 200",
    )


@pytest.mark.integration
def test_replay_stops_starting_requests_after_the_time_budget(
    store_url: str, golden: GoldenSet
) -> None:
    """A slow new release: replay starts nothing after ``timeout`` s and says how far it got."""
    new_app = _slow(_app(store_url), "/v1/var", 0.4)
    with LiveServer(_app(store_url)) as stable, LiveServer(new_app) as new:
        _real_traffic(stable.url, 8, 0)
        report = run_shadow(golden, stable.url, new.url, TOL, timeout=1.0)
    assert report.passed, report.lines()
    assert 1 <= report.replayed < 8
    assert f"replayed {report.replayed} of 8 recent requests (time budget of 1 s reached)" in (
        report.summary()
    )


def test_shadow_header_is_what_keeps_replay_out_of_the_sample() -> None:
    """The runner marks its traffic with the header the service skips."""
    assert dict(SHADOW_HEADERS) == {"X-Riskctl-Shadow": "1"}
    assert sampling.SHADOW_HEADER in SHADOW_HEADERS
