"""The exact shortcuts for incremental and standalone VaR (engine/ranks.py) against the plain
per-column selections, bit for bit, and against the slow pure-Python reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from risk_service.engine import ColumnRanks, column_ranks, portfolio_var, var_rank_index
from risk_service.engine._typing import FloatArray, IntArray
from risk_service.engine.ranks import (
    CANDIDATE_MARGIN,
    EXTREME_ROWS,
    standalone_var,
    standalone_var_in_place,
    without_each_var,
)

from . import reference

CONFIDENCES = (0.99, 0.975, 0.95, 0.9, 0.5, 0.999, 0.01)


def plain(
    weights: FloatArray, scenarios: FloatArray, confidence: float
) -> tuple[list[float], list[float]]:
    """Incremental and standalone VaR by their definitions, one column at a time."""
    n = scenarios.shape[0]
    k = max(1, math.ceil(round(confidence * n, 9))) - 1
    losses = -(scenarios @ weights)
    var = float(np.partition(losses, k)[k])
    incremental = [
        var - np.partition(scenarios[:, i] * weights[i] + losses, k)[k]
        for i in range(weights.shape[0])
    ]
    standalone = [
        float(np.partition(scenarios[:, i] * -weights[i], k)[k]) for i in range(weights.shape[0])
    ]
    return incremental, standalone


def same_floats(got: list[float], want: list[float]) -> bool:
    """Equal floats. A zero VaR's sign is not compared: when a column's order statistic is one of
    several +0.0 and -0.0 (a zero weight, runs of zero returns), which one numpy's selection lands
    on depends on the array's memory alignment (its SIMD kernels), in the plain path as much as in
    the shortcuts: the same call can answer 0.0 in one process and -0.0 in the next."""
    return got == want


def hostile_book(seed: int) -> tuple[FloatArray, FloatArray, float]:
    """A random book with the awkward cases: zero weights, runs of zero returns, rounded (tied)
    returns, a dominant position, both memory layouts, short windows and many confidences."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice([12, 100, 250, 1000, 2500]))
    cols = int(rng.integers(1, 70))
    scenarios = rng.standard_t(3, (n, cols)) * 0.01
    if seed % 4 == 0:
        scenarios[rng.random((n, cols)) < 0.3] = 0.0
    if seed % 5 == 0:
        scenarios = np.round(scenarios, 3)
    weights = rng.normal(0.0, 1e6, cols) * (rng.random(cols) < 0.85)
    if seed % 3 == 0:
        weights[0] *= 60.0  # one position that moves left-out scenarios into the tail
    order = "F" if seed % 2 else "C"
    return weights, np.asarray(scenarios, order=order), float(CONFIDENCES[seed % 7])


@pytest.mark.filterwarnings("ignore::risk_service.engine.InsufficientDataWarning")
@pytest.mark.parametrize("seed", range(60))
def test_shortcuts_give_the_plain_floats(seed: int) -> None:
    """With and without kept column ranks, incremental and standalone VaR are the very floats
    of the plain per-column selections."""
    weights, scenarios, c = hostile_book(seed)
    want_inc, want_alone = plain(weights, scenarios, c)
    for ranks in (None, column_ranks(scenarios, c)):
        risk = portfolio_var(weights, scenarios, c, ranks=ranks)
        assert same_floats(list(risk.incremental.values()), want_inc)
        assert same_floats(list(risk.standalone.values()), want_alone)


@pytest.mark.parametrize("seed", range(4))
def test_shortcuts_match_the_slow_reference(seed: int) -> None:
    """Against the independent pure-Python definitions (full sorts, a book rebuilt without each
    position), with ranks kept and a horizon scale applied."""
    rng = np.random.default_rng(100 + seed)
    weights = rng.normal(0.0, 1e6, 8)
    scenarios = rng.standard_t(4, (400, 8)) * 0.01
    c = 0.99
    risk = portfolio_var(weights, scenarios, c, horizon_days=4, ranks=column_ranks(scenarios, c))
    rows, w = scenarios.tolist(), weights.tolist()
    assert list(risk.incremental.values()) == pytest.approx(
        [2.0 * x for x in reference.incremental(w, rows, c)], rel=1e-8, abs=1e-6
    )
    assert list(risk.standalone.values()) == pytest.approx(
        [2.0 * x for x in reference.standalone(w, rows, c)], rel=1e-12
    )


def test_column_ranks_are_the_sorted_columns_order_statistics() -> None:
    """low/high/minimum/maximum are entries k, n-1-k, 0 and n-1 of each sorted column, and the
    input is left as it was."""
    rng = np.random.default_rng(5)
    scenarios = rng.normal(size=(250, 7))
    before = scenarios.copy()
    ranks = column_ranks(scenarios, 0.975)
    ordered = np.sort(scenarios, axis=0)
    k = var_rank_index(250, 0.975)
    assert k == math.ceil(0.975 * 250) - 1
    assert ranks.rank == k
    assert ranks.observations == 250
    assert ranks.columns == 7
    np.testing.assert_array_equal(ranks.low, ordered[k])
    np.testing.assert_array_equal(ranks.high, ordered[249 - k])
    np.testing.assert_array_equal(ranks.minimum, ordered[0])
    np.testing.assert_array_equal(ranks.maximum, ordered[-1])
    q = EXTREME_ROWS
    assert ranks.top_rows.shape == ranks.bottom_rows.shape == (q, 7)
    np.testing.assert_array_equal(ranks.below_top, ordered[-1 - q])
    np.testing.assert_array_equal(ranks.above_bottom, ordered[q])
    for i in range(7):
        assert sorted(scenarios[ranks.top_rows[:, i], i]) == ordered[-q:, i].tolist()
        assert sorted(scenarios[ranks.bottom_rows[:, i], i]) == ordered[:q, i].tolist()
    np.testing.assert_array_equal(scenarios, before)
    picked = ranks.select(np.array([6, 0], dtype=np.intp))
    np.testing.assert_array_equal(picked.low, ordered[k, [6, 0]])
    np.testing.assert_array_equal(picked.top_rows, ranks.top_rows[:, [6, 0]])
    assert picked.columns == 2
    few = column_ranks(scenarios[:9], 0.5)  # too short a window for 16 extreme rows a side
    assert few.top_rows.shape == (3, 7)


def test_ranks_of_other_scenarios_are_refused() -> None:
    """Ranks from another window length, another rank or another number of columns are a
    programming error, never silently used."""
    rng = np.random.default_rng(6)
    scenarios = rng.normal(size=(300, 4))
    weights = np.ones(4)
    with pytest.raises(ValueError, match="column ranks"):
        portfolio_var(weights, scenarios, 0.99, ranks=column_ranks(scenarios[:250], 0.99))
    with pytest.raises(ValueError, match="column ranks"):
        portfolio_var(weights, scenarios, 0.99, ranks=column_ranks(scenarios, 0.95))
    with pytest.raises(ValueError, match="column ranks"):
        portfolio_var(weights[:3], scenarios[:, :3], 0.99, ranks=column_ranks(scenarios, 0.99))
    # another confidence with the same rank is the same order statistic: accepted
    risk = portfolio_var(weights, scenarios, 0.989, ranks=column_ranks(scenarios, 0.99))
    assert dict(risk.standalone) == dict(portfolio_var(weights, scenarios, 0.989).standalone)


def test_transformed_scenarios_and_other_conventions_ignore_the_ranks() -> None:
    """Overlapping h-day sums, FHS and non-default conventions compute as without ranks."""
    rng = np.random.default_rng(7)
    scenarios = rng.standard_t(4, (500, 5)) * 0.01
    weights = rng.normal(0.0, 1e6, 5)
    ranks = column_ranks(scenarios, 0.99)
    for kwargs in (
        {"horizon_days": 5, "horizon_method": "overlapping"},
        {"method": "filtered_historical"},
        {"convention": "linear"},
    ):
        with_ranks = portfolio_var(weights, scenarios, 0.99, ranks=ranks, **kwargs)  # type: ignore[arg-type]
        without = portfolio_var(weights, scenarios, 0.99, **kwargs)  # type: ignore[arg-type]
        assert dict(with_ranks.standalone) == dict(without.standalone)
        assert dict(with_ranks.incremental) == dict(without.incremental)


def _recording(
    scenarios: FloatArray, weights: FloatArray, losses: FloatArray, k: int
) -> tuple[list[int], object]:
    asked: list[int] = []

    def exact(cols: IntArray) -> FloatArray:
        asked.extend(cols.tolist())
        block = scenarios[:, cols] * weights[cols] + losses[:, None]
        return np.partition(block, k, axis=0)[k]

    return asked, exact


def test_the_incremental_shortcut_settles_ordinary_columns_and_defers_a_dominant_one() -> None:
    """On a diversified book over a market factor the bound settles nearly every column from the
    candidate scenarios alone; a position large enough to reorder the tail goes plain."""
    rng = np.random.default_rng(8)
    n, c = 2500, 0.99
    market = rng.standard_t(4, (n, 1)) * 0.7
    scenarios = (market + rng.standard_t(4, (n, 40)) * 0.5) * 0.01
    weights = np.abs(rng.normal(0.0, 1e6, 40))
    k = var_rank_index(n, c)
    for dominant in (False, True):
        w = weights.copy()
        if dominant:
            w[3] = 3e7
        losses = -(scenarios @ w)
        asked, exact = _recording(scenarios, w, losses, k)
        got = without_each_var(scenarios, w, losses, c, ranks=None, exact=exact)  # type: ignore[arg-type]
        want = np.partition(scenarios * w + losses[:, None], k, axis=0)[k]
        np.testing.assert_array_equal(got, want)
        assert len(asked) <= 4  # the others settled without a full selection
        assert (3 in asked) is dominant


def test_kept_extreme_days_settle_columns_the_bound_alone_cannot() -> None:
    """On independent fat-tailed returns a position's own extreme days defeat the bound by
    the column's extreme; searched explicitly (from the ranks) most of those columns settle,
    and every answer is still the plain one."""
    rng = np.random.default_rng(8)
    n, c = 2500, 0.99
    scenarios = np.asfortranarray(rng.standard_t(4, (n, 40)) * 0.01)
    weights = rng.normal(0.0, 1e6, 40)
    k = var_rank_index(n, c)
    losses = -(scenarios @ weights)
    want = np.partition(scenarios * weights + losses[:, None], k, axis=0)[k]
    counts = []
    for ranks in (None, column_ranks(scenarios, c)):
        asked, exact = _recording(scenarios, weights, losses, k)
        got = without_each_var(scenarios, weights, losses, c, ranks=ranks, exact=exact)  # type: ignore[arg-type]
        np.testing.assert_array_equal(got, want)
        counts.append(len(asked))
    assert counts[0] >= 10
    assert counts[1] <= counts[0] // 3


def test_the_incremental_shortcut_is_skipped_when_the_tail_is_most_of_the_sample() -> None:
    """At a low confidence the candidates would be most scenarios: every column goes plain."""
    rng = np.random.default_rng(9)
    n = 4 * CANDIDATE_MARGIN
    scenarios = rng.normal(size=(n, 3))
    weights = np.array([1.0, -2.0, 3.0])
    losses = -(scenarios @ weights)
    k = var_rank_index(n, 0.6)
    asked, exact = _recording(scenarios, weights, losses, k)
    without_each_var(scenarios, weights, losses, 0.6, ranks=None, exact=exact)  # type: ignore[arg-type]
    assert asked == [0, 1, 2]


def test_standalone_from_ranks_hands_signed_zeros_to_the_plain_selection() -> None:
    """A zero weight, or a zero return at the rank, is computed plainly (its zero's sign is the
    plain selection's); other columns are looked up."""
    scenarios = np.array([[0.0, 0.01, -0.02], [0.0, -0.03, 0.0], [0.0, 0.02, 0.0]] * 40)
    weights = np.array([5.0, 0.0, 2.0])
    ranks = column_ranks(scenarios, 0.9)
    k = ranks.rank
    asked: list[int] = []

    def exact(cols: IntArray) -> FloatArray:
        asked.extend(cols.tolist())
        return np.partition(scenarios[:, cols] * -weights[cols], k, axis=0)[k]

    got = standalone_var(weights, ranks, exact)
    assert asked == [0, 1]  # all-zero column, zero weight; column 2's rank is a real loss
    want = [float(np.partition(scenarios[:, i] * -weights[i], k)[k]) for i in range(3)]
    assert same_floats(got.tolist(), want)


def test_column_ranks_is_a_frozen_value() -> None:
    """Kept ranks are shared between requests: they cannot be reassigned."""
    ranks = column_ranks(np.eye(3), 0.5)
    assert isinstance(ranks, ColumnRanks)
    with pytest.raises(AttributeError):
        ranks.rank = 0  # type: ignore[misc]


@pytest.mark.filterwarnings("ignore::risk_service.engine.InsufficientDataWarning")
@pytest.mark.parametrize("seed", range(20))
def test_in_place_standalone_gives_the_plain_floats(seed: int) -> None:
    """Selecting in a given-up copy of the series (longs negated in place) yields the plain
    standalone floats (zeros are handed to ``exact``)."""
    weights, scenarios, c = hostile_book(seed)
    _, want = plain(weights, scenarios, c)
    n = scenarios.shape[0]
    k = var_rank_index(n, c)

    def exact(cols: IntArray) -> FloatArray:  # contiguous columns, as the engine selects them
        block = np.multiply(scenarios[:, cols], -weights[cols], order="F")
        return np.partition(block, k, axis=0)[k]

    series = np.ascontiguousarray(scenarios.T)
    got = standalone_var_in_place(series, weights, c, exact)
    assert same_floats(got.tolist(), want)


def test_in_place_standalone_refuses_a_matrix_it_cannot_select_in() -> None:
    """A transposed (column-major) or mis-sized matrix is a programming error."""
    series = np.zeros((3, 50))
    with pytest.raises(ValueError, match="C-ordered"):
        standalone_var_in_place(series.T, np.ones(50), 0.9, lambda cols: cols * 0.0)
    with pytest.raises(ValueError, match="C-ordered"):
        standalone_var_in_place(series, np.ones(4), 0.9, lambda cols: cols * 0.0)
