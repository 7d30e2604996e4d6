"""POST /v1/portfolio/es against a real uvicorn server: figures, stored data, errors, auth."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from risk_service import engine
from risk_service.auth import Scope, create_token
from risk_service.marketdata.synthetic import universe
from risk_service.store import database

from .conftest import SPEC, LiveServer, settings_for

pytestmark = pytest.mark.integration

TOL = 1e-12
DAYS = 400
A = [0.01 * math.sin(k * 0.7) + 0.002 * ((k * 37) % 11 - 5) for k in range(DAYS)]
B = [0.015 * math.cos(k * 0.3) + 0.003 * ((k * 13) % 7 - 3) for k in range(DAYS)]
A[100:103] = [-0.2, -0.2, -0.2]  # a stress in A, days 100-102
BOOK: dict[str, Any] = {
    "positions": {"A": 1_000_000.0, "B": -400_000.0},
    "returns": {"A": A, "B": B},
    "liquidity_horizons": {"B": 40},
}


@pytest.fixture
def client(dev_server: LiveServer) -> Iterator[httpx.Client]:
    """A client of the dev server."""
    with dev_server.client() as c:
        yield c


def test_inline_book_matches_the_engine(client: httpx.Client) -> None:
    """The endpoint returns engine.frtb_es's figures for the same inline book."""
    r = client.post("/v1/portfolio/es", json={**BOOK, "reduced_factors": ["A"]})
    assert r.status_code == 200, r.text
    body = r.json()
    ref = engine.frtb_es(
        BOOK["positions"], BOOK["returns"], BOOK["liquidity_horizons"], reduced_factors=["A"]
    )
    assert body["expected_shortfall"] == pytest.approx(ref.liquidity_adjusted_es, rel=TOL)
    assert body["es_by_horizon"] == pytest.approx(list(ref.es_by_horizon), rel=TOL)
    assert body["horizons"] == [10, 20, 40, 60, 120]
    assert body["liquidity_horizons"] == {"A": 10, "B": 40}
    assert ref.stressed is not None
    stressed = body["stressed"]
    assert stressed["stressed_es"] == pytest.approx(ref.stressed.stressed_es, rel=TOL)
    assert (stressed["start_index"], stressed["end_index"]) == (
        ref.stressed.window.start,
        ref.stressed.window.stop,
    )
    assert stressed["start_index"] <= 100
    assert stressed["end_index"] >= 103
    assert (body["observations"], body["current_observations"]) == (DAYS, 250)
    assert body["base_horizon"] == 10
    assert body["base_horizon_method"] == "overlapping"
    assert body["confidence"] == 0.975
    assert body["version"] == "1.2.3"


def test_sqrt_method_is_selectable(client: httpx.Client) -> None:
    """base_horizon_method=sqrt scales the 1-day ES by √10 instead."""
    r = client.post("/v1/portfolio/es", json={**BOOK, "base_horizon_method": "sqrt"})
    assert r.status_code == 200, r.text
    ref = engine.frtb_es(
        BOOK["positions"], BOOK["returns"], BOOK["liquidity_horizons"], method="sqrt"
    )
    assert r.json()["expected_shortfall"] == pytest.approx(ref.liquidity_adjusted_es, rel=TOL)
    assert r.json()["stressed"] is None


def test_stored_market_data(client: httpx.Client) -> None:
    """Omitting returns uses the stored history; the stressed ES follows its own formula."""
    symbols = universe(SPEC).symbols
    book = {symbols[0]: 1e6, symbols[1]: -5e5}
    r = client.post(
        "/v1/portfolio/es",
        json={
            "positions": book,
            "window": 250,
            "current_window": 100,
            "stress_window": 100,
            "reduced_factors": [symbols[0]],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["as_of"] == "2026-11-24"
    assert (body["observations"], body["current_observations"]) == (250, 100)
    s = body["stressed"]
    assert s["end_index"] - s["start_index"] == 100
    assert s["stressed_es"] == pytest.approx(
        engine.stressed_es(s["es_reduced_stressed"], s["es_full_current"], s["es_reduced_current"]),
        rel=TOL,
    )


HOSTILE: list[tuple[str, Any, int]] = [
    ("empty positions", {"positions": {}}, 422),
    ("unknown horizon", {**BOOK, "liquidity_horizons": {"B": 30}}, 422),
    ("horizon as string", {**BOOK, "liquidity_horizons": {"B": "40"}}, 422),
    ("horizon for unknown symbol", {**BOOK, "liquidity_horizons": {"Z": 40}}, 422),
    ("reduced factor not held", {**BOOK, "reduced_factors": ["Z"]}, 422),
    ("empty reduced set", {**BOOK, "reduced_factors": []}, 422),
    (
        "stress window longer than history",
        {**BOOK, "reduced_factors": ["A"], "stress_window": 500},
        422,
    ),
    ("current window too short", {**BOOK, "current_window": 5}, 422),
    ("unknown method", {**BOOK, "base_horizon_method": "cubic"}, 422),
    ("window with inline returns", {**BOOK, "window": 100}, 422),
    ("as_of with inline returns", {**BOOK, "as_of": "2026-11-24"}, 422),
    ("unequal lengths", {**BOOK, "returns": {"A": A, "B": B[:-1]}}, 422),
    ("missing symbol", {**BOOK, "returns": {"A": A}}, 422),
    ("history shorter than ten days", {**BOOK, "returns": {"A": A[:5], "B": B[:5]}}, 422),
    ("unknown field", {**BOOK, "foo": 1}, 422),
    ("unknown stored symbol", {"positions": {"NOPE": 1.0}}, 422),
    ("stored window beyond data", {"positions": {"EQ00000": 1.0}, "window": 9999}, 422),
    (
        "too many cells",
        {"positions": dict.fromkeys(universe(SPEC).symbols[:21], 1.0), "window": 10_000},
        413,
    ),
    ("overflowing values", {**BOOK, "returns": {"A": [1e308] * DAYS, "B": B}}, 422),
]


@pytest.mark.parametrize(("body", "status"), [pytest.param(b, s, id=n) for n, b, s in HOSTILE])
def test_bad_input_gets_a_4xx_error_body(client: httpx.Client, body: Any, status: int) -> None:
    """Each bad request gets the expected 4xx with {"error": {code, message, field}}."""
    r = client.post(
        "/v1/portfolio/es", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["code"]
    assert error["message"]


def test_prod_needs_a_compute_token(seeded_url: str) -> None:
    """In prod the endpoint is behind the compute scope: no token 401, read token 403."""
    store_engine = database.make_engine(seeded_url)
    factory = database.session_factory(store_engine)
    read = create_token(factory, "frtb-read", Scope.READ)
    compute = create_token(factory, "frtb-compute", Scope.COMPUTE)
    try:
        with LiveServer(settings_for(seeded_url, "prod")) as server, server.client() as c:
            assert c.post("/v1/portfolio/es", json=BOOK).status_code == 401
            bad = c.post("/v1/portfolio/es", json=BOOK, headers={"Authorization": f"Bearer {read}"})
            assert bad.status_code == 403
            good = c.post(
                "/v1/portfolio/es", json=BOOK, headers={"Authorization": f"Bearer {compute}"}
            )
            assert good.status_code == 200, good.text
    finally:
        store_engine.dispose()


def test_openapi_documents_the_endpoint(client: httpx.Client) -> None:
    """/openapi.json lists POST /v1/portfolio/es with its request, response and error bodies."""
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/v1/portfolio/es"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "PortfolioEsRequest"
    )
    assert {"200", "401", "403", "413", "422"} <= set(post["responses"])
    fields = spec["components"]["schemas"]["PortfolioEsRequest"]["properties"]
    assert {"positions", "liquidity_horizons", "reduced_factors", "base_horizon_method"} <= set(
        fields
    )
