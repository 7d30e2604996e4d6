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


def test_kept_books_are_bounded_in_bytes(seeded_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wide books cannot pile up: the kept matrices stay within BOOKS_KEPT_BYTES, and a book
    larger than the whole budget is answered without being kept."""
    from risk_service.api import market  # noqa: PLC0415

    engine = database.make_engine(seeded_url)
    try:
        cache = MarketCache(database.session_factory(engine), default_window=100)
        assert cache.warm()
        loaded = cache.cached(100)
        assert loaded is not None
        held = list(loaded.window.symbols)
        monkeypatch.setattr(market, "BOOKS_KEPT_BYTES", 3 * 100 * 8 * 2)  # three 2-symbol books
        for i in range(10):
            cache.scenarios([held[i], held[i + 1]], None, 100)
            assert cache._book_bytes <= market.BOOKS_KEPT_BYTES
            assert sum(m.nbytes for m, _ in cache._books[1].values()) == cache._book_bytes
        wide = cache.scenarios(held[:10], None, 100)
        assert wide.matrix.shape == (100, 10)
        assert (tuple(held[:10]), 100) not in cache._books[1]
    finally:
        engine.dispose()


def test_order_statistics_are_kept_per_window_and_filled_symbol_by_symbol(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A book's column ranks equal the engine's column_ranks of its matrix; symbols asked before
    are not computed again, and as_of windows (not the cached one) get none."""
    from risk_service.api import market  # noqa: PLC0415
    from risk_service.engine import column_ranks  # noqa: PLC0415

    computed: list[int] = []

    def counting(scenarios: np.ndarray, confidence: float) -> object:
        computed.append(scenarios.shape[1])
        return column_ranks(scenarios, confidence)

    monkeypatch.setattr(market, "column_ranks", counting)
    engine = database.make_engine(seeded_url)
    try:
        cache = MarketCache(database.session_factory(engine), default_window=150)
        assert cache.warm()
        first = cache.scenarios(["EQ00003", "EQ00000"], None, 150)
        ranks = cache.ranks(first, 0.99)
        assert ranks is not None
        want = column_ranks(first.matrix, 0.99)
        for name in ("low", "high", "minimum", "maximum", "below_top", "above_bottom"):
            assert np.array_equal(getattr(ranks, name), getattr(want, name))
        for i in range(2):  # the same extreme days (their order within the q is free)
            top = first.matrix[ranks.top_rows[:, i], i]
            assert sorted(top) == sorted(first.matrix[want.top_rows[:, i], i])
            bottom = first.matrix[ranks.bottom_rows[:, i], i]
            assert sorted(bottom) == sorted(first.matrix[want.bottom_rows[:, i], i])
        assert ranks.rank == want.rank
        assert ranks.observations == 150
        assert computed == [2]
        second = cache.scenarios(["EQ00000", "EQ00007", "EQ00003"], None, 150)
        again = cache.ranks(second, 0.99)
        assert again is not None
        assert computed == [2, 1]  # only EQ00007 was new
        assert np.array_equal(again.high, column_ranks(second.matrix, 0.99).high)
        cache.ranks(second, 0.95)  # another rank: its own table
        assert computed == [2, 1, 3]
        shorter = cache.scenarios(["EQ00003"], None, 100)
        short_ranks = cache.ranks(shorter, 0.99)
        assert short_ranks is not None
        assert short_ranks.observations == 100
        assert np.array_equal(short_ranks.low, column_ranks(shorter.matrix, 0.99).low)
        with database.session_factory(engine)() as session:
            _, _, last = repository.market_data_summary(session)
        assert last is not None
        dated = cache.scenarios(["EQ00003"], last, 150)
        assert cache.ranks(dated, 0.99) is None
    finally:
        engine.dispose()


def test_new_market_data_drops_the_kept_order_statistics(sqlite_url: str) -> None:
    """After the store gains a day, a book's ranks are those of the new window."""
    from risk_service.engine import column_ranks  # noqa: PLC0415
    from risk_service.marketdata.synthetic import SyntheticSource, SyntheticSpec  # noqa: PLC0415

    store = migrated(sqlite_url)
    try:
        source = SyntheticSource(
            SyntheticSpec(instruments=3, portfolios=1, min_positions=1, max_positions=2)
        )
        source.ensure(store.factory, dt.date(2026, 11, 24), 30)
        cache = MarketCache(store.factory, default_window=20, ttl=0.0)
        book = ["EQ00000", "EQ00001"]
        before = cache.ranks(cache.scenarios(book, None, 20), 0.9)
        source.ensure(store.factory, dt.date(2026, 11, 25), 30)
        after_scenarios = cache.scenarios(book, None, 20)
        after = cache.ranks(after_scenarios, 0.9)
        assert before is not None
        assert after is not None
        want = column_ranks(after_scenarios.matrix, 0.9)
        assert np.array_equal(after.maximum, want.maximum)
        assert np.array_equal(after.low, want.low)
    finally:
        store.engine.dispose()
