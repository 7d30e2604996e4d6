"""``/v1/portfolio/var`` over stored market data takes the engine's shortcuts (kept column
ranks, the incremental candidate search): its answers are the very floats of the engine's plain
path on the same returns, for many books, confidences, windows and horizons."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from risk_service.engine import portfolio_var
from risk_service.marketdata.synthetic import universe
from risk_service.store import database, repository

from .conftest import SPEC, WINDOW, LiveServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(dev_server: LiveServer) -> Iterator[httpx.Client]:
    """A client of the dev server."""
    with dev_server.client() as c:
        yield c


def test_stored_data_answers_are_the_engines_plain_floats(
    client: httpx.Client, seeded_url: str
) -> None:
    """Each figure of each answer equals portfolio_var without ranks over the stored window
    (the slow selections); asked twice, the answer is the same."""
    symbols = universe(SPEC).symbols
    engine = database.make_engine(seeded_url)
    with database.session_factory(engine)() as session:
        _, _, last = repository.market_data_summary(session)
        assert last is not None
        full = repository.load_market_window(session, last, WINDOW)
    engine.dispose()
    rng = np.random.default_rng(17)
    for i in range(12):
        picks = rng.choice(len(symbols), int(rng.integers(1, 15)), replace=False)
        weights = np.round(rng.normal(0.0, 1e6, picks.shape[0]), 2)
        if i % 4 == 1:
            weights[0] = 0.0
        book = {symbols[j]: float(w) for j, w in zip(picks, weights, strict=True)}
        confidence = float(rng.choice([0.99, 0.975, 0.95, 0.9]))
        window = int(rng.choice([120, 200, WINDOW]))
        horizon = int(rng.choice([1, 10]))
        body = {
            "positions": book,
            "confidence": confidence,
            "window": window,
            "horizon_days": horizon,
        }
        served = client.post("/v1/portfolio/var", json=body)
        assert served.status_code == 200, served.text
        again = client.post("/v1/portfolio/var", json=body)
        assert again.json() == served.json()  # == : a zero's sign is numpy's to pick
        got = served.json()
        index = full.column_index()
        matrix = full.matrix[-window:, [index[symbols[j]] for j in picks]]
        plain = portfolio_var(weights, matrix, confidence, horizon_days=horizon)
        assert got["portfolio_var"] == plain.var
        for name, values in (
            ("component_var", plain.component),
            ("marginal_var", plain.marginal),
            ("incremental_var", plain.incremental),
            ("standalone_var", plain.standalone),
            ("component_es", plain.component_es),
        ):
            want = list(values.values())
            have = list(got[name].values())
            assert have == want, name  # a zero's sign is numpy's to pick (test_ranks.py)
