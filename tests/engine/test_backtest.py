"""Backtests: exceptions, Kupiec, Christoffersen, Basel traffic light."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from risk_service.engine import (
    LengthMismatchError,
    RiskInputError,
    christoffersen,
    exceptions,
    kupiec_pof,
    traffic_light,
)

TOL = 1e-12


def test_kupiec_reference_t250_p1_x5() -> None:
    """Kupiec LR for T = 250, p = 1 %, x = 5 is 1.956810 (closed form, hand-evaluated).

    LR = −2[245·ln 0.99 + 5·ln 0.01] + 2[245·ln 0.98 + 5·ln 0.02]
       = 50.976368… − 49.019558… = 1.956810 (p-value 0.1619, χ²(1)).
    """
    result = kupiec_pof(5, 250, 0.99)
    assert result.statistic == pytest.approx(1.956810, abs=1e-6)
    assert result.p_value == pytest.approx(0.161855, abs=1e-6)


@pytest.mark.parametrize("x", [0, 1, 2, 7, 15, 250])
def test_kupiec_equals_binomial_likelihood_ratio(x: int) -> None:
    """Kupiec's statistic is twice the binomial log-likelihood ratio (scipy, independent)."""
    t, p = 250, 0.01
    expected = 2.0 * (stats.binom.logpmf(x, t, x / t) - stats.binom.logpmf(x, t, p))
    assert kupiec_pof(x, t, 0.99).statistic == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_kupiec_zero_exceptions() -> None:
    """x = 0: LR = −2·250·ln 0.99 = 5.025168 (0·ln 0 taken as 0)."""
    assert kupiec_pof(0, 250, 0.99).statistic == pytest.approx(-500 * math.log(0.99), rel=TOL)


@pytest.mark.parametrize(
    ("x", "t"), [(-1, 250), (251, 250), (1, 0), (1.5, 250), (True, 250), (1, "250")]
)
def test_kupiec_rejects_bad_counts(x: object, t: object) -> None:
    """Counts must be whole numbers with 0 ≤ x ≤ T and T ≥ 1."""
    with pytest.raises(RiskInputError):
        kupiec_pof(x, t)  # type: ignore[arg-type]


def test_christoffersen_no_clustering_gives_zero_lr_ind() -> None:
    """Equal transition probabilities (π01 = π11 = π = 1/3) give LR_ind = 0 exactly."""
    result = christoffersen([0, 1, 0, 0, 1, 1, 0, 0, 0, 0], 0.99)
    assert result.transitions == (4, 2, 2, 1)
    assert result.lr_ind == 0.0
    assert result.p_value_ind == pytest.approx(1.0)
    assert result.lr_cc == pytest.approx(kupiec_pof(3, 10, 0.99).statistic, rel=TOL)


def test_christoffersen_clustered_hand_computed() -> None:
    """Clustered hits 0001110000: n00=5, n01=1, n10=1, n11=2; LR_ind from the formula by hand.

    π = 1/3, π01 = 1/6, π11 = 2/3:
    LR_ind = −2[6 ln(2/3) + 3 ln(1/3)] + 2[5 ln(5/6) + ln(1/6) + ln(1/3) + 2 ln(2/3)]
           = 11.457256 − 9.225820 = 2.231436
    """
    result = christoffersen([0, 0, 0, 1, 1, 1, 0, 0, 0, 0], 0.99)
    assert result.transitions == (5, 1, 1, 2)
    hand = -2 * (6 * math.log(2 / 3) + 3 * math.log(1 / 3)) + 2 * (
        5 * math.log(5 / 6) + math.log(1 / 6) + math.log(1 / 3) + 2 * math.log(2 / 3)
    )
    assert result.lr_ind == pytest.approx(hand, rel=TOL)
    assert result.lr_ind == pytest.approx(2.231436, abs=1e-6)
    assert result.p_value_ind == pytest.approx(stats.chi2.sf(hand, 1), rel=TOL)
    assert result.lr_cc == pytest.approx(result.lr_pof + hand, rel=TOL)
    assert result.p_value_cc == pytest.approx(stats.chi2.sf(result.lr_cc, 2), rel=TOL)


def test_christoffersen_rejects_non_binary_hits() -> None:
    """Hits must be 0/1; fewer than two days cannot form a transition."""
    with pytest.raises(RiskInputError, match="0/1"):
        christoffersen([0, 2, 1])
    with pytest.raises(RiskInputError, match="at least 2"):
        christoffersen([1])


def test_christoffersen_accepts_booleans_from_exceptions() -> None:
    """The output of exceptions() feeds christoffersen() directly."""
    hits = exceptions([-3.0, 1.0, -0.5, -2.5], [2.0, 2.0, 2.0, 2.0])
    assert hits.tolist() == [True, False, False, True]
    assert christoffersen(hits).transitions == (1, 1, 1, 0)  # T→F, F→F, F→T


def test_exceptions_are_strict_and_aligned() -> None:
    """A loss equal to the VaR is not an exception; misaligned series are an error."""
    assert exceptions([-2.0, -2.0000001], [2.0, 2.0]).tolist() == [False, True]
    with pytest.raises(LengthMismatchError):
        exceptions([-1.0, -2.0, 0.0], [1.0, 1.0])


def test_basel_zones_250_days_99() -> None:
    """BCBS (1996) Table 2: 250 days at 99 % — green 0–4, yellow 5–9, red 10 or more."""
    zones = [traffic_light(x, 250, 0.99) for x in range(0, 16)]
    assert zones == ["green"] * 5 + ["yellow"] * 5 + ["red"] * 6


def test_traffic_light_validates() -> None:
    """More exceptions than days is an error."""
    with pytest.raises(RiskInputError):
        traffic_light(300, 250)


def test_backtest_of_correct_model_is_mostly_green() -> None:
    """A correctly specified 99 % VaR on normal P&L rarely leaves the green zone."""
    rng = np.random.default_rng(7)
    var = stats.norm.ppf(0.99)
    greens = sum(
        traffic_light(int(exceptions(rng.standard_normal(250), np.full(250, var)).sum())) == "green"
        for _ in range(200)
    )
    assert greens >= 170  # P(green) = 0.8922 under the model
