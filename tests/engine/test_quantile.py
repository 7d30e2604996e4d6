"""Historical VaR and expected shortfall of one series."""

from __future__ import annotations

import numpy as np
import pytest

from risk_service.engine import (
    Convention,
    ConventionError,
    InsufficientDataError,
    InsufficientDataWarning,
    expected_shortfall,
    historical_var,
)
from risk_service.engine._typing import FloatArray

from . import reference

#: Agreement required between the engine and the slow reference (same order statistics, so
#: only the last bits of a weighted sum may differ).
REL_TOL = 1e-12


def test_rank_is_immune_to_float_noise() -> None:
    """(1 − 0.9)·10 = 0.9999999999999998 must still select the second-worst loss, not the worst."""
    pnl = [-0.05, 0.01, 0.02, -0.01, 0.03, -0.02, 0.0, 0.01, 0.02, -0.03]
    assert historical_var(pnl, 0.9) == pytest.approx(0.03)


@pytest.mark.parametrize(
    ("n", "confidence", "rank"),
    [(10, 0.9, 9), (100, 0.95, 95), (250, 0.99, 248), (20, 0.95, 19), (1000, 0.975, 975)],
)
def test_default_rank_matches_definition(n: int, confidence: float, rank: int) -> None:
    """The VaR is the ceil(c·n)-th smallest loss (hand-computed ranks)."""
    losses = np.arange(1.0, n + 1.0)  # loss of rank k is k
    rng = np.random.default_rng(n)
    pnl = -rng.permutation(losses)
    assert historical_var(pnl, confidence) == rank


def test_at_most_floor_tail_count_exceed(sp500_returns: FloatArray) -> None:
    """At most floor((1 − c)·n) observations lose more than the VaR (SPEC §2)."""
    n = sp500_returns.shape[0]
    for c in (0.9, 0.95, 0.975, 0.99, 0.999):
        v = historical_var(sp500_returns, c)
        assert np.count_nonzero(-sp500_returns > v) <= int((1 - c) * n + 1e-9)
        assert np.count_nonzero(-sp500_returns >= v) > int((1 - c) * n + 1e-9)


def test_sp500_matches_slow_reference_and_numpy(sp500_returns: FloatArray) -> None:
    """On 5,030 real S&P 500 returns VaR/ES agree with the slow reference and numpy's quantiles."""
    pnl = sp500_returns.tolist()
    losses = -sp500_returns
    for c in (0.95, 0.975, 0.99):
        v = historical_var(sp500_returns, c)
        assert v == reference.var(pnl, c)
        # c·n is not an integer here, so the default and numpy's inverted_cdf coincide.
        assert v == np.quantile(losses, c, method="inverted_cdf")
        assert historical_var(sp500_returns, c, "linear") == pytest.approx(
            np.quantile(losses, c, method="linear"), rel=REL_TOL
        )
        assert expected_shortfall(sp500_returns, c) == pytest.approx(
            reference.es(pnl, c), rel=REL_TOL
        )


def test_sp500_published_magnitude(sp500_returns: FloatArray) -> None:
    """S&P 500 1999–2018 one-day 99 % VaR lies in the 3–4 % band and ES beyond it."""
    v = historical_var(sp500_returns, 0.99)
    assert 0.03 < v < 0.04
    assert expected_shortfall(sp500_returns, 0.99) > v


def test_es_fractional_hand_example() -> None:
    """Losses 1..10 at c = 0.75: tail mass 2.5 → (10 + 9 + 0.5·8) / 2.5 = 9.2 (hand-computed)."""
    pnl = -np.arange(1.0, 11.0)
    assert expected_shortfall(pnl, 0.75) == pytest.approx(9.2, rel=REL_TOL)


def test_es_integer_tail_is_plain_mean() -> None:
    """When n(1 − c) is a whole number, ES is the plain mean of the worst n(1 − c) losses."""
    pnl = -np.arange(1.0, 101.0)
    assert expected_shortfall(pnl, 0.95) == pytest.approx(np.mean([96, 97, 98, 99, 100]))


def test_es_single_observation_tail() -> None:
    """With less than one observation of tail mass, ES is the worst loss."""
    pnl = np.array([-3.0, 1.0, 2.0, -1.0, 0.5])
    with pytest.warns(InsufficientDataWarning):
        assert expected_shortfall(pnl, 0.9) == 3.0


def test_all_gains_give_negative_var() -> None:
    """When even the tail is a gain, VaR and ES are negative (SPEC §2 sign convention)."""
    pnl = np.linspace(0.01, 0.1, 100)
    assert historical_var(pnl, 0.95) < 0
    assert expected_shortfall(pnl, 0.95) < 0


@pytest.mark.parametrize("convention", [c.value for c in Convention if c is not Convention.DEFAULT])
def test_named_conventions_are_numpys(convention: str, rng: np.random.Generator) -> None:
    """Every non-default convention is numpy's quantile method of the same name on losses."""
    pnl = rng.standard_normal(997)
    expected = np.quantile(-pnl, 0.99, method=convention)  # type: ignore[call-overload]
    assert historical_var(pnl, 0.99, convention) == pytest.approx(expected, rel=REL_TOL)


def test_unknown_convention_lists_choices() -> None:
    """An unknown convention name raises a ValueError listing the valid names."""
    with pytest.raises(ConventionError, match="choose one of: default"):
        historical_var([1.0, 2.0], 0.5, "banana")


def test_insufficient_data_warns_and_strict_raises() -> None:
    """n < 1/(1 − c) warns; strict mode raises; the estimate is still the defined rank."""
    pnl = [-1.0, -2.0, 3.0, 4.0, 5.0]
    with pytest.warns(InsufficientDataWarning, match="cannot resolve"):
        assert historical_var(pnl, 0.99) == 2.0
    with pytest.raises(InsufficientDataError):
        historical_var(pnl, 0.99, strict=True)
    with pytest.raises(InsufficientDataError):
        expected_shortfall(pnl, 0.99, strict=True)


def test_exactly_enough_data_does_not_warn() -> None:
    """n = 1/(1 − c) exactly (100 at 99 %) is enough: no warning."""
    historical_var(np.linspace(-1, 1, 100), 0.99)


def test_confidence_beyond_rank_resolution() -> None:
    """c·n rounding to n (c = 0.9999999999, n = 3): VaR and ES are the worst loss, no crash."""
    pnl = [1.0, -2.0, 3.0]
    with pytest.warns(InsufficientDataWarning):
        assert historical_var(pnl, 0.9999999999) == 2.0
    with pytest.warns(InsufficientDataWarning):
        assert expected_shortfall(pnl, 0.9999999999) == 2.0
