"""The API's market-data cache: what it answers from memory, and when it goes to the store."""

from __future__ import annotations

import time

import numpy as np
import pytest

from risk_service.api.errors import ApiError
from risk_service.api.market import MarketCache
from risk_service.store import database, repository


def test_cached_answers_only_what_memory_can_serve(seeded_url: str) -> None:
    """Nothing before a load; the loaded window for as many rows as it holds, within the TTL;
    None for a longer window (the caller then reads the store off the event loop) and once
    the TTL has passed."""
    engine = database.make_engine(seeded_url)
    try:
        factory = database.session_factory(engine)
        cache = MarketCache(factory, default_window=120, ttl=0.5)
        assert cache.cached(120) is None
        assert cache.warm()
        loaded = cache.cached(120)
        assert loaded is not None
        assert len(loaded.window.dates) == 120
        assert cache.cached(100) is loaded
        assert cache.cached(200) is None  # more than in memory: the store must be read
        time.sleep(0.6)
        assert cache.cached(120) is None  # not checked against the store lately
        again = cache.scenarios(["EQ00000"], None, 200)  # reads the store, longer window
        assert again.matrix.shape == (200, 1)
        assert cache.cached(200) is not None
    finally:
        engine.dispose()


def test_scenarios_from_memory_match_the_store(seeded_url: str) -> None:
    """The cached, column-major selection holds exactly the stored returns, in the asked order."""
    engine = database.make_engine(seeded_url)
    try:
        factory = database.session_factory(engine)
        cache = MarketCache(factory, default_window=150)
        assert cache.warm()
        symbols = ["EQ00003", "EQ00000"]
        got = cache.scenarios(symbols, None, 150, cached=cache.cached(150))
        assert got.matrix.flags.f_contiguous
        with factory() as session:
            last = repository.market_data_summary(session)[2]
            assert last is not None
            stored = repository.load_market_window(session, last, 150, symbols)
        assert np.array_equal(got.matrix, stored.matrix)
        assert got.as_of == stored.dates[-1]
        with pytest.raises(ApiError, match="No returns data for NOPE"):
            cache.scenarios(["NOPE"], None, None, cached=cache.cached(150))
    finally:
        engine.dispose()
