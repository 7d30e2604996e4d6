"""The market cache keeps a book's gathered matrix: the same book again is the same, read-only
array; another book, another window length or a reloaded window never gets a stale one."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from risk_service.api.market import BOOKS_KEPT, MarketCache
from risk_service.store import database, repository

from .conftest import migrated


def test_a_book_asked_again_is_served_from_the_kept_matrix(seeded_url: str) -> None:
    """Same symbols and length: the same read-only array, equal to the store's returns."""
    engine = database.make_engine(seeded_url)
    try:
        cache = MarketCache(database.session_factory(engine), default_window=150)
        assert cache.warm()
        book = ["EQ00003", "EQ00000", "EQ00007"]
        first = cache.scenarios(book, None, 150, cached=cache.cached(150))
        again = cache.scenarios(list(book), None, 150, cached=cache.cached(150))
        assert again.matrix is first.matrix
        assert not again.matrix.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            again.matrix[0, 0] = 1.0  # a caller cannot corrupt the next request's data
        other_order = cache.scenarios(book[::-1], None, 150, cached=cache.cached(150))
        assert other_order.matrix is not first.matrix
        assert np.array_equal(other_order.matrix, first.matrix[:, ::-1])
        shorter = cache.scenarios(book, None, 100, cached=cache.cached(150))
        assert np.array_equal(shorter.matrix, first.matrix[-100:])
    finally:
        engine.dispose()


def test_kept_books_are_bounded(seeded_url: str) -> None:
    """No more than BOOKS_KEPT matrices are kept, however many books are asked."""
    engine = database.make_engine(seeded_url)
    try:
        cache = MarketCache(database.session_factory(engine), default_window=120)
        assert cache.warm()
        loaded = cache.cached(120)
        assert loaded is not None
        held = list(loaded.window.symbols)
        for i in range(BOOKS_KEPT * 2 + 3):
            pair = [held[i % len(held)], held[(i + 1) % len(held)]]
            cache.scenarios(pair, None, 120 - i % 7)
        assert len(cache._books[1]) <= BOOKS_KEPT
    finally:
        engine.dispose()


def test_new_market_data_drops_the_kept_books(sqlite_url: str) -> None:
    """After the store gains a day, the same book answers with the new window, not the kept one."""
    from risk_service.marketdata.synthetic import SyntheticSource, SyntheticSpec  # noqa: PLC0415

    store = migrated(sqlite_url)
    try:
        source = SyntheticSource(
            SyntheticSpec(instruments=3, portfolios=1, min_positions=1, max_positions=2)
        )
        source.ensure(store.factory, dt.date(2026, 11, 24), 30)
        cache = MarketCache(store.factory, default_window=20, ttl=0.0)
        book = ["EQ00000", "EQ00001"]
        before = cache.scenarios(book, None, 20)
        source.ensure(store.factory, dt.date(2026, 11, 25), 30)
        after = cache.scenarios(book, None, 20)
        assert after.as_of > before.as_of
        with store.factory() as session:
            stored = repository.load_market_window(session, after.as_of, 20, book)
        assert np.array_equal(after.matrix, stored.matrix)
    finally:
        store.engine.dispose()
