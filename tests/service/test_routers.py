"""The API as routers: every ``/v1`` route any router adds is guarded by a token in prod."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from risk_service.api.app import ROUTERS

from .conftest import LiveServer, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def prod(seeded_url: str) -> Iterator[LiveServer]:
    """A prod-mode server over the seeded store."""
    with LiveServer(settings_for(seeded_url, "prod")) as server:
        yield server


def test_every_v1_operation_refuses_a_request_without_a_token(prod: LiveServer) -> None:
    """Each operation under /v1 that the OpenAPI document lists (whichever router added it)
    answers 401 with a Bearer challenge when no token is sent."""
    with prod.client() as c:
        spec = c.get("/openapi.json").json()
        operations = [
            (method.upper(), path.replace("{business_date}", "2026-11-25"))
            for path, item in spec["paths"].items()
            if path.startswith("/v1/")
            for method in item
        ]
        assert len(operations) >= 4
        for method, path in operations:
            r = c.request(method, path, json={} if method == "POST" else None)
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["www-authenticate"] == "Bearer"


def test_routers_are_listed_once_and_all_included(prod: LiveServer) -> None:
    """ROUTERS holds each router once, and every route of every router is served."""
    assert len(set(map(id, ROUTERS))) == len(ROUTERS)
    with prod.client() as c:
        served = set(c.get("/openapi.json").json()["paths"])
    declared = {route.path for router in ROUTERS for route in router.routes}  # type: ignore[attr-defined]
    assert declared == served
