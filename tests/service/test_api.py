"""The HTTP API against a real uvicorn server: every endpoint and a battery of hostile inputs."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from risk_service import engine
from risk_service.api import risk as risk_module
from risk_service.auth import Scope, create_token, revoke_token
from risk_service.marketdata.synthetic import SyntheticSource, SyntheticSpec, universe
from risk_service.store import database, repository

from .conftest import SPEC, LiveServer, migrated, settings_for

pytestmark = pytest.mark.integration

RETURNS = [0.01 * math.sin(k * 0.7) + 0.002 * ((k * 37) % 11 - 5) for k in range(300)]
TOL = 1e-12


@pytest.fixture
def client(dev_server: LiveServer) -> Iterator[httpx.Client]:
    """A client of the dev server."""
    with dev_server.client() as c:
        yield c


def test_healthz_answers(client: httpx.Client) -> None:
    """GET /healthz answers 200 ok with a request id header."""
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]


def test_request_id_is_echoed_when_supplied(client: httpx.Client) -> None:
    """A well-formed X-Request-ID is echoed back; a malformed one is replaced."""
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    assert (
        client.get("/healthz", headers={"X-Request-ID": "bad id!"}).headers["x-request-id"]
        != "bad id!"
    )


def test_readyz_ready_when_migrated_with_market_data(client: httpx.Client) -> None:
    """GET /readyz is 200 when the store is reachable, at head and holds market data."""
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"store": True, "schema": True, "market_data": True}


def test_readyz_is_503_until_migrated_and_loaded(sqlite_url: str) -> None:
    """/readyz is 503 on an unmigrated store and on a migrated store without market data."""
    with LiveServer(settings_for(sqlite_url)) as server, server.client() as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["schema"] is False
        migrated(sqlite_url).engine.dispose()
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"] == {"store": True, "schema": True, "market_data": False}


def test_readyz_stays_ready_when_a_newer_release_migrated(sqlite_url: str) -> None:
    """A store migrated past this release's head by a newer release (a canary) stays ready."""
    store = migrated(sqlite_url).engine
    SyntheticSource(
        SyntheticSpec(instruments=5, portfolios=2, min_positions=2, max_positions=4)
    ).ensure(database.session_factory(store), dt.date(2026, 11, 25), 30)
    with store.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'v9999_newer'")
    with LiveServer(settings_for(sqlite_url)) as server, server.client() as c:
        r = c.get("/readyz")
    assert r.status_code == 200, r.json()
    assert "ahead of this release" in r.json()["detail"]["schema"]


def test_readyz_is_503_when_the_store_is_unreachable() -> None:
    """/readyz is 503 when the database cannot be reached."""
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    with LiveServer(settings_for(url)) as server, server.client() as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["store"] is False


def test_version_reports_release_identity(client: httpx.Client) -> None:
    """GET /version returns version, git sha, artifact digest and environment; run from a
    checkout (no release files) the digest is unknown, whatever the variable says (issue 8,
    finding 7: the digest comes from the files, see test_release_files.py)."""
    assert client.get("/version").json() == {
        "version": "1.2.3",
        "git_sha": "deadbeef",
        "artifact_digest": "unknown",
        "environment": "dev",
    }


def test_metrics_count_requests(client: httpx.Client) -> None:
    """GET /metrics is Prometheus text counting requests by route template."""
    client.get("/healthz")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert 'risk_service_http_requests_total{method="GET",route="/healthz",status="200"}' in r.text


def test_var_matches_the_engine(client: httpx.Client) -> None:
    """POST /v1/var returns the engine's VaR and ES at the same confidence."""
    r = client.post("/v1/var", json={"returns": RETURNS, "confidence": 0.99})
    assert r.status_code == 200, r.text
    body = r.json()
    assert math.isclose(body["var"], engine.historical_var(RETURNS, 0.99), rel_tol=TOL)
    assert math.isclose(body["es"], engine.expected_shortfall(RETURNS, 0.99), rel_tol=TOL)
    assert body["observations"] == 300
    assert body["method"] == "historical"
    assert body["convention"] == "default"
    assert body["warnings"] == []


@pytest.mark.parametrize("method", ["parametric", "monte_carlo", "filtered_historical"])
def test_var_other_methods(client: httpx.Client, method: str) -> None:
    """Every offered method answers with positive VaR and ES >= VaR."""
    r = client.post("/v1/var", json={"returns": RETURNS, "method": method, "seed": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == method
    assert body["es"] >= body["var"] > 0


def test_var_with_too_few_observations_warns(client: httpx.Client) -> None:
    """Too few observations for the confidence level come back as a warning, not an error."""
    r = client.post("/v1/var", json={"returns": [-0.01, 0.02, 0.005], "confidence": 0.99})
    assert r.status_code == 200
    assert r.json()["var"] == 0.01
    assert "cannot resolve" in r.json()["warnings"][0]


def test_portfolio_var_inline(client: httpx.Client) -> None:
    """POST /v1/portfolio/var with inline returns matches the engine, labelled fields included."""
    positions = {"AAA": 1_000_000.0, "BBB": -400_000.0}
    returns = {"AAA": RETURNS, "BBB": list(reversed(RETURNS))}
    r = client.post(
        "/v1/portfolio/var", json={"positions": positions, "returns": returns, "confidence": 0.99}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    ref = engine.portfolio_var(positions, returns, 0.99)
    assert math.isclose(body["portfolio_var"], ref.var, rel_tol=TOL)
    assert math.isclose(body["expected_shortfall"], ref.es, rel_tol=TOL)
    assert body["component_var"] == pytest.approx(dict(ref.component), rel=TOL)
    assert body["standalone_var"] == pytest.approx(dict(ref.standalone), rel=TOL)
    assert body["incremental_var"] == pytest.approx(dict(ref.incremental), rel=TOL)
    assert body["marginal_var"] == pytest.approx(dict(ref.marginal), rel=TOL)
    assert math.isclose(sum(body["component_var"].values()), body["portfolio_var"], rel_tol=1e-9)
    assert body["gross_notional"] == 1_400_000.0
    assert body["net_notional"] == 600_000.0
    assert body["version"] == "1.2.3"
    assert body["as_of"] is None


def test_portfolio_var_on_stored_market_data(client: httpx.Client) -> None:
    """Omitting returns uses stored market data; as_of and window select the scenarios."""
    symbols = universe(SPEC).symbols
    book = {symbols[0]: 1e6, symbols[-1]: -5e5}
    r = client.post("/v1/portfolio/var", json={"positions": book})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["observations"] == 250
    assert body["as_of"] == "2026-11-24"
    r = client.post(
        "/v1/portfolio/var",
        json={
            "positions": {"EQ00000": 1e6},
            "as_of": "2026-10-30",
            "window": 120,
            "horizon_days": 10,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["as_of"] == "2026-10-30"
    assert r.json()["observations"] == 120
    assert r.json()["horizon_days"] == 10


def test_calculations_on_the_loop_and_in_the_pool_answer_alike(
    client: httpx.Client, seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small calculations run on the event loop and big ones in the thread pool, with the same
    answers (``INLINE_MAX_CELLS = 0`` sends all to the pool); over stored data they are the
    engine's figures on the store's own window, whatever the cache's layout."""
    symbols = universe(SPEC).symbols
    stored = {"positions": {symbols[0]: 1e6, symbols[3]: -4e5, symbols[-1]: 2e5}}
    inline = {"positions": {"A": 1e6, "B": -5e5}, "returns": {"A": RETURNS, "B": RETURNS[::-1]}}

    def answers() -> list[dict[str, Any]]:
        out = [client.post("/v1/portfolio/var", json=b) for b in (stored, inline)]
        out.append(client.post("/v1/var", json={"returns": RETURNS}))
        assert [r.status_code for r in out] == [200, 200, 200], [r.text for r in out]
        return [r.json() for r in out]

    on_loop = answers()
    monkeypatch.setattr(risk_module, "INLINE_MAX_CELLS", 0)
    assert answers() == on_loop

    s = database.session_factory(database.make_engine(seeded_url))
    with s() as session:
        window = repository.load_market_window(
            session, dt.date(2026, 11, 24), 250, list(stored["positions"])
        )
    ref = engine.portfolio_var(list(stored["positions"].values()), window.matrix, 0.99)
    body = on_loop[0]
    assert body["portfolio_var"] == ref.var
    assert list(body["incremental_var"].values()) == list(ref.incremental.values())
    assert list(body["standalone_var"].values()) == list(ref.standalone.values())
    assert list(body["component_var"].values()) == list(ref.component.values())


def test_runs_endpoint_returns_the_stored_run(client: httpx.Client) -> None:
    """GET /v1/runs/{date} returns status, release and every portfolio's figures."""
    r = client.get("/v1/runs/2026-11-25")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "succeeded"
    assert body["release"] == {
        "version": "1.2.3",
        "digest": "sha256:" + "ab" * 32,
        "git_sha": "deadbeef",
    }
    assert len(body["portfolios"]) == 6
    first = body["portfolios"][0]
    assert math.isclose(sum(first["component_var_99"].values()), first["var_99"], rel_tol=1e-9)
    assert body["deadline"].startswith("2026-11-25T11:00:00")
    assert set(body["input_hashes"]) == {"positions_sha256", "market_data_sha256"}


def test_runs_endpoint_says_what_computed_the_run(client: httpx.Client) -> None:
    """GET /v1/runs/{date} names the executor and worker count recorded with the run."""
    body = client.get("/v1/runs/2026-11-25").json()
    assert (body["executor"], body["workers"]) == ("in-process", 1)


# --- hostile inputs ----------------------------------------------------------------------------

GOOD = {"returns": RETURNS[:120], "confidence": 0.99}
BOOK = {"positions": {"A": 1.0}, "returns": {"A": [0.01, -0.02, 0.03]}}
DEEP = "[" * 100_000 + "]" * 100_000

# (name, path, raw body or JSON-able body, extra headers, expected status)
HOSTILE: list[tuple[str, str, Any, dict[str, str], int]] = [
    ("malformed json", "/v1/var", b'{"returns": [1, 2', {}, 400),
    ("trailing garbage", "/v1/var", b'{"returns": [1]} xx', {}, 400),
    ("empty body", "/v1/var", b"", {}, 422),
    ("json null", "/v1/var", b"null", {}, 422),
    ("json array", "/v1/var", b"[1, 2, 3]", {}, 422),
    ("json string", "/v1/var", b'"returns"', {}, 422),
    ("NaN literal", "/v1/var", b'{"returns": [NaN, 0.01]}', {}, 422),
    ("Infinity literal", "/v1/var", b'{"returns": [Infinity, 0.01]}', {}, 422),
    ("-Infinity literal", "/v1/var", b'{"returns": [-Infinity]}', {}, 422),
    ("huge exponent", "/v1/var", b'{"returns": [1e999]}', {}, 422),
    ("empty returns", "/v1/var", {"returns": []}, {}, 422),
    ("missing returns", "/v1/var", {"confidence": 0.99}, {}, 422),
    ("returns not a list", "/v1/var", {"returns": 0.01}, {}, 422),
    ("returns of strings", "/v1/var", {"returns": ["0.01", "0.02"]}, {}, 422),
    ("returns of booleans", "/v1/var", {"returns": [True, False]}, {}, 422),
    ("returns with null", "/v1/var", {"returns": [0.01, None]}, {}, 422),
    ("nested returns", "/v1/var", {"returns": [[0.01], [0.02]]}, {}, 422),
    ("returns as object", "/v1/var", {"returns": {"a": 1}}, {}, 422),
    ("confidence 0", "/v1/var", {**GOOD, "confidence": 0}, {}, 422),
    ("confidence 1", "/v1/var", {**GOOD, "confidence": 1}, {}, 422),
    ("confidence -1", "/v1/var", {**GOOD, "confidence": -1}, {}, 422),
    ("confidence 99", "/v1/var", {**GOOD, "confidence": 99}, {}, 422),
    ("confidence string", "/v1/var", {**GOOD, "confidence": "0.99"}, {}, 422),
    ("confidence null", "/v1/var", {**GOOD, "confidence": None}, {}, 422),
    ("confidence bool", "/v1/var", {**GOOD, "confidence": True}, {}, 422),
    ("unknown method", "/v1/var", {**GOOD, "method": "magic"}, {}, 422),
    ("method wrong type", "/v1/var", {**GOOD, "method": 3}, {}, 422),
    ("unknown field", "/v1/var", {**GOOD, "foo": 1}, {}, 422),
    ("negative seed", "/v1/var", {**GOOD, "seed": -1}, {}, 422),
    ("deeply nested json", "/v1/var", DEEP.encode(), {}, 400),
    (
        "overflowing values",
        "/v1/var",
        {"returns": [1e308, -1e308, 1e308], "method": "parametric"},
        {},
        422,
    ),
    ("wrong content type", "/v1/var", b"returns=1", {"content-type": "text/plain"}, 415),
    (
        "form content type",
        "/v1/var",
        b"returns=1",
        {"content-type": "application/x-www-form-urlencoded"},
        415,
    ),
    ("no content type", "/v1/var", b'{"returns": [0.1]}', {"content-type": ""}, 415),
    ("invalid utf-8", "/v1/var", b'{"returns": [0.1], "x": "\xff"}', {}, 400),
    ("body over the limit", "/v1/var", b"[" + b"0," * 3_000_000 + b"0]", {}, 413),
    ("too many observations", "/v1/var", {"returns": [0.0] * 300_001}, {}, 413),
    ("empty positions", "/v1/portfolio/var", {"positions": {}}, {}, 422),
    ("positions as list", "/v1/portfolio/var", {"positions": [1, 2]}, {}, 422),
    ("notional string", "/v1/portfolio/var", {"positions": {"A": "1e6"}}, {}, 422),
    (
        "empty symbol",
        "/v1/portfolio/var",
        {"positions": {"": 1.0}, "returns": {"": [0.1]}},
        {},
        422,
    ),
    (
        "missing symbol",
        "/v1/portfolio/var",
        {"positions": {"A": 1.0, "B": 2.0}, "returns": {"A": [0.01, 0.02]}},
        {},
        422,
    ),
    (
        "unequal lengths",
        "/v1/portfolio/var",
        {"positions": {"A": 1.0, "B": 1.0}, "returns": {"A": [0.01, 0.02], "B": [0.01]}},
        {},
        422,
    ),
    ("empty series", "/v1/portfolio/var", {"positions": {"A": 1.0}, "returns": {"A": []}}, {}, 422),
    (
        "NaN in book",
        "/v1/portfolio/var",
        b'{"positions": {"A": NaN}, "returns": {"A": [0.1, 0.2]}}',
        {},
        422,
    ),
    ("horizon 0", "/v1/portfolio/var", {**BOOK, "horizon_days": 0}, {}, 422),
    ("horizon float", "/v1/portfolio/var", {**BOOK, "horizon_days": 1.5}, {}, 422),
    ("horizon huge", "/v1/portfolio/var", {**BOOK, "horizon_days": 10**9}, {}, 422),
    ("as_of with inline returns", "/v1/portfolio/var", {**BOOK, "as_of": "2026-11-24"}, {}, 422),
    ("window with inline returns", "/v1/portfolio/var", {**BOOK, "window": 10}, {}, 422),
    ("bad as_of", "/v1/portfolio/var", {"positions": {"A": 1.0}, "as_of": "2026-13-45"}, {}, 422),
    (
        "as_of before any data",
        "/v1/portfolio/var",
        {"positions": {"EQ00000": 1.0}, "as_of": "1999-01-04"},
        {},
        422,
    ),
    (
        "window beyond stored data",
        "/v1/portfolio/var",
        {"positions": {"EQ00000": 1.0}, "window": 9999},
        {},
        422,
    ),
    ("unknown stored symbol", "/v1/portfolio/var", {"positions": {"NOPE": 1.0}}, {}, 422),
    ("symbol too long", "/v1/portfolio/var", {"positions": {"X" * 65: 1.0}}, {}, 422),
    (
        "parametric one observation",
        "/v1/portfolio/var",
        {"positions": {"A": 1.0}, "returns": {"A": [0.1]}, "method": "parametric"},
        {},
        422,
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [pytest.param(p, b, h, s, id=n) for n, p, b, h, s in HOSTILE],
)
def test_hostile_input_gets_a_4xx_error_body(
    client: httpx.Client, path: str, body: Any, headers: dict[str, str], status: int
) -> None:
    """Each hostile request gets the expected 4xx with {"error": {code, message, field}}."""
    if isinstance(body, bytes):
        sent = {"content-type": "application/json", **headers}
        sent = {k: v for k, v in sent.items() if v}
        r = client.post(path, content=body, headers=sent)
    else:
        r = client.post(
            path, content=json.dumps(body), headers={"content-type": "application/json", **headers}
        )
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]


def test_hostile_battery_is_large_enough() -> None:
    """The battery holds at least 40 distinct hostile inputs."""
    assert len(HOSTILE) >= 40
    assert len({name for name, *_ in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/var", 405),
        ("DELETE", "/v1/runs/2026-11-25", 405),
        ("GET", "/v1/runs/2026-11-26", 404),
        ("GET", "/v1/runs/not-a-date", 422),
        ("GET", "/nowhere", 404),
    ],
)
def test_wrong_routes_get_error_bodies(
    client: httpx.Client, method: str, path: str, status: int
) -> None:
    """Unknown routes, wrong methods and bad path parameters answer with the error body."""
    r = client.request(method, path)
    assert r.status_code == status
    assert set(r.json()["error"]) == {"code", "message", "field"}


def test_chunked_body_over_the_limit_is_413(client: httpx.Client) -> None:
    """A body streamed without Content-Length is still cut off at the limit with 413."""

    def chunks() -> Iterator[bytes]:
        yield b'{"returns": ['
        for _ in range(600):
            yield b"0.0," * 2000
        yield b"0.0]}"

    r = client.post("/v1/var", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_missing_symbol_names_the_symbol(client: httpx.Client) -> None:
    """A position without returns names the symbol in the message and the field."""
    r = client.post(
        "/v1/portfolio/var",
        json={"positions": {"A": 1.0, "ZZZ": 2.0}, "returns": {"A": [0.01, 0.02]}},
    )
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "No returns data for ZZZ"
    assert r.json()["error"]["field"] == "returns.ZZZ"


# --- authentication in prod mode ---------------------------------------------------------------


@pytest.fixture(scope="module")
def prod_server(seeded_url: str) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A prod-mode server over the seeded store, with one token per scope."""
    store_engine = database.make_engine(seeded_url)
    factory = database.session_factory(store_engine)
    tokens = {s.value: create_token(factory, f"test-{s.value}", s) for s in Scope}
    revoked = create_token(factory, "test-revoked", Scope.ADMIN)
    revoke_token(factory, "test-revoked")
    tokens["revoked"] = revoked
    with LiveServer(settings_for(seeded_url, "prod")) as server:
        yield server, tokens
    store_engine.dispose()


@pytest.mark.parametrize(
    ("token", "method", "path", "status"),
    [
        (None, "GET", "/v1/runs/2026-11-25", 401),
        (None, "POST", "/v1/var", 401),
        ("garbage", "GET", "/v1/runs/2026-11-25", 401),
        ("revoked", "GET", "/v1/runs/2026-11-25", 401),
        ("read", "GET", "/v1/runs/2026-11-25", 200),
        ("read", "POST", "/v1/var", 403),
        ("read", "POST", "/v1/portfolio/var", 403),
        ("compute", "POST", "/v1/var", 200),
        ("compute", "GET", "/v1/runs/2026-11-25", 200),
        ("admin", "POST", "/v1/portfolio/var", 200),
    ],
)
def test_prod_requires_scoped_bearer_tokens(
    prod_server: tuple[LiveServer, dict[str, str]],
    token: str | None,
    method: str,
    path: str,
    status: int,
) -> None:
    """In prod, /v1/* needs a bearer token: 401 missing/unknown/revoked, 403 wrong scope."""
    server, tokens = prod_server
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {tokens.get(token, token)}"
    body = {"returns": RETURNS} if path == "/v1/var" else {"positions": {"EQ00000": 1e6}}
    with server.client() as c:
        r = c.request(method, path, headers=headers, json=body if method == "POST" else None)
    assert r.status_code == status, r.text
    if status >= 400:
        assert set(r.json()["error"]) == {"code", "message", "field"}
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


def test_prod_keeps_operations_endpoints_open(
    prod_server: tuple[LiveServer, dict[str, str]],
) -> None:
    """Health, readiness, version and metrics need no token in prod."""
    server, _ = prod_server
    with server.client() as c:
        for path in ("/healthz", "/readyz", "/version", "/metrics", "/openapi.json"):
            assert c.get(path).status_code == 200, path
        assert c.get("/version").json()["environment"] == "prod"


def test_non_bearer_authorization_is_401(
    prod_server: tuple[LiveServer, dict[str, str]],
) -> None:
    """A Basic (or empty bearer) Authorization header is refused with 401."""
    server, _ = prod_server
    with server.client() as c:
        for value in ("Basic dXNlcjpwYXNz", "Token abc", "Bearer"):
            r = c.get("/v1/runs/2026-11-25", headers={"Authorization": value})
            assert r.status_code == 401, value


def test_openapi_documents_the_contract(client: httpx.Client) -> None:
    """/openapi.json lists every endpoint of SPEC §3 with the request schemas."""
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) == {
        "/healthz",
        "/readyz",
        "/version",
        "/metrics",
        "/v1/var",
        "/v1/portfolio/var",
        "/v1/portfolio/es",
        "/v1/runs/{business_date}",
        "/v1/admin/request-samples",
    }
    var_schema = spec["components"]["schemas"]["VarRequest"]
    assert var_schema["additionalProperties"] is False


_ = dt


def test_each_worker_warms_its_market_window_before_serving(
    seeded_url: str, sqlite_url: str
) -> None:
    """Start-up loads the stored market window, so no request pays for it; an empty store is
    no start-up failure (readiness reports it)."""
    import asyncio  # noqa: PLC0415

    from risk_service.api.app import create_app  # noqa: PLC0415

    async def start(url: str) -> bool:
        app = create_app(settings_for(url))
        assert not app.state.market.loaded
        async with app.router.lifespan_context(app):  # what uvicorn runs before accepting
            return bool(app.state.market.loaded)

    assert asyncio.run(start(seeded_url))
    migrated(sqlite_url).engine.dispose()
    assert not asyncio.run(start(sqlite_url))  # nothing stored yet: starts, not loaded
