"""Responses as served (pydantic-core's JSON encoder) carry the same JSON values as the old
serialisation (pydantic -> dict -> ``json.dumps``, FastAPI's ``jsonable_encoder`` path), on the
shadow comparison's golden set, stored market data and a stored run."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from risk_service.api import create_app, risk, runs
from risk_service.api.context import Context
from risk_service.api.schemas import PortfolioVarRequest, VarRequest
from risk_service.marketdata.synthetic import universe
from riskctl.shadow.golden import METHODS, GoldenSet, generate_golden_set

from .conftest import SPEC, LiveServer, settings_for

pytestmark = pytest.mark.integration

GOLDEN = generate_golden_set()
GOLDEN_SET = GoldenSet(GOLDEN["portfolios"], GOLDEN["returns"])


@pytest.fixture(scope="module")
def ctx(seeded_url: str) -> Context:
    """An in-process context over the same store and settings as the dev server."""
    found: Context = create_app(settings_for(seeded_url)).state.context
    return found


@pytest.fixture(scope="module")
def client(dev_server: LiveServer) -> Iterator[httpx.Client]:
    """A client of the dev server."""
    with dev_server.client() as c:
        yield c


def old_bytes(model: BaseModel) -> bytes:
    """The old serialisation: a dict via ``jsonable_encoder``, then ``json.dumps`` exactly as
    starlette's ``JSONResponse.render`` does it."""
    return json.dumps(
        jsonable_encoder(model), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode()


def values(raw: bytes) -> Any:
    """JSON values with object key order kept (pairs), so order differences fail too."""
    return json.loads(raw, object_pairs_hook=lambda pairs: [tuple(p) for p in pairs])


def _same(served: httpx.Response, model: BaseModel) -> None:
    assert served.status_code == 200, served.text
    old = values(old_bytes(model))
    assert values(served.content) == old
    # json.dumps of the parsed values also tells -0.0 from 0.0, which == does not.
    assert json.dumps(values(served.content)) == json.dumps(old)


@pytest.mark.parametrize(("label", "body"), GOLDEN_SET.requests(), ids=lambda v: str(v)[:40])
def test_golden_portfolio_requests_serialise_to_the_same_values(
    client: httpx.Client, ctx: Context, label: str, body: dict[str, Any]
) -> None:
    """Every golden-set request of /v1/portfolio/var (each portfolio, each method)."""
    served = client.post("/v1/portfolio/var", json=body)
    model = risk.portfolio_sync(PortfolioVarRequest.model_validate(body), ctx, None)
    _same(served, model)
    assert label


@pytest.mark.parametrize("method", METHODS)
def test_golden_series_var_serialises_to_the_same_values(
    client: httpx.Client, ctx: Context, method: str
) -> None:
    """/v1/var over each golden series and method (tiny and huge magnitudes included)."""
    for symbol, series in list(GOLDEN_SET.returns.items())[:4]:
        for scale in (1.0, 1e-7, 1e9):
            body = {"returns": [x * scale for x in series], "method": method}
            served = client.post("/v1/var", json=body)
            _same(served, risk.var_sync(VarRequest.model_validate(body), ctx))
            assert symbol


def test_stored_market_data_answers_serialise_to_the_same_values(
    client: httpx.Client, ctx: Context
) -> None:
    """/v1/portfolio/var over the stored window, with and without as_of."""
    symbols = universe(SPEC).symbols
    for body in (
        {"positions": {symbols[0]: 1e6, symbols[5]: -3.5e5, symbols[9]: 1.25e5}},
        {"positions": {symbols[1]: 2e6, symbols[2]: 1e6}, "as_of": "2026-11-20", "window": 120},
    ):
        served = client.post("/v1/portfolio/var", json=body)
        _same(served, risk.portfolio_sync(PortfolioVarRequest.model_validate(body), ctx, None))


def test_a_stored_run_serialises_to_the_same_values(client: httpx.Client, ctx: Context) -> None:
    """/v1/runs/{date}: datetimes, nested portfolios, validation details."""
    served = client.get("/v1/runs/2026-11-25")
    _same(served, runs.run(dt.date(2026, 11, 25), ctx))
