"""The daily run's block plan and in-process executor: coverage of the book, memory bound, and
figures that do not depend on how the blocks are spread."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_service import engine
from risk_service.daily_run.executor import (
    BLOCK_BYTES,
    MIN_BLOCKS,
    InProcessExecutor,
    PortfolioRisk,
    RiskSpec,
    plan_blocks,
)

SPEC = RiskSpec(var_levels=(0.95, 0.99), es_level=0.975)
#: The whole-book matrix product may sum in another order than a block's (BLAS picks its kernel
#: by shape and thread count), so the reference is met to rounding, not to the bit.
TOL = 1e-12


def book(
    portfolios: int, instruments: int, scenarios: int, seed: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded sparse exposure matrix (currency) and scenario returns."""
    rng = np.random.default_rng(seed)
    held = rng.random((portfolios, instruments)) < 0.3
    exposures = np.where(held, rng.normal(0, 1e6, (portfolios, instruments)), 0.0)
    returns = rng.standard_t(4, (scenarios, instruments)) * 0.01
    return exposures, returns


@given(
    portfolios=st.integers(1, 5_000),
    instruments=st.integers(1, 50_000),
    scenarios=st.integers(2, 10_000),
)
@settings(max_examples=200, deadline=None)
def test_plan_covers_the_book_in_order_within_the_memory_bound(
    portfolios: int, instruments: int, scenarios: int
) -> None:
    """Blocks are consecutive, cover every portfolio once, fit BLOCK_BYTES, ≥ 16 when P allows."""
    blocks = plan_blocks(portfolios, instruments, scenarios)
    assert blocks[0].start == 0
    assert blocks[-1].stop == portfolios
    assert all(a.stop == b.start for a, b in itertools.pairwise(blocks))
    sizes = [b.stop - b.start for b in blocks]
    assert min(sizes) >= 1
    assert max(sizes) - min(sizes) <= 1
    per_portfolio = 8 * (3 * scenarios + 2 * instruments)
    assert max(sizes) == 1 or max(sizes) * per_portfolio <= BLOCK_BYTES
    assert len(blocks) >= min(portfolios, MIN_BLOCKS)


def test_plan_refuses_an_empty_book() -> None:
    """No portfolio, no plan: a ValueError rather than an empty run."""
    with pytest.raises(ValueError, match="at least one portfolio"):
        plan_blocks(0, 10, 10)


def test_in_process_matches_the_whole_book_engine() -> None:
    """Blocked in-process figures equal engine.batch_risk on the whole book (to 1e-12)."""
    exposures, returns = book(40, 60, 500)
    done: list[tuple[int, int]] = []
    got = InProcessExecutor(progress=lambda d, t: done.append((d, t))).risk(
        exposures, returns, SPEC
    )
    ref = engine.batch_risk(exposures, returns, var_levels=SPEC.var_levels, es_level=SPEC.es_level)
    for c in SPEC.var_levels:
        np.testing.assert_allclose(got.var[c], ref.var[c], rtol=TOL)
        np.testing.assert_allclose(got.component[c], ref.component[c], rtol=TOL, atol=1e-6)
    np.testing.assert_allclose(got.es, ref.es, rtol=TOL)
    total = len(plan_blocks(40, 60, 500))
    assert done == [(i, total) for i in range(1, total + 1)]


def test_figures_do_not_depend_on_threads_or_layout() -> None:
    """One thread or four, C- or Fortran-ordered returns: the same figures to the last bit."""
    exposures, returns = book(64, 300, 1_000)
    one = InProcessExecutor(threads=1).risk(exposures, returns, SPEC)
    four = InProcessExecutor(threads=4).risk(exposures, np.asfortranarray(returns), SPEC)
    for c in SPEC.var_levels:
        assert np.array_equal(one.var[c], four.var[c])
        assert np.array_equal(one.component[c], four.component[c])
    assert np.array_equal(one.es, four.es)


def test_joining_no_blocks_is_an_error() -> None:
    """PortfolioRisk.concat refuses an empty list instead of inventing an empty result."""
    with pytest.raises(ValueError, match="no blocks"):
        PortfolioRisk.concat([])
