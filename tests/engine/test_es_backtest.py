"""Acerbi–Székely ES backtests (Z1, Z2 with simulated p-values) and MAR32 desk exception counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from risk_service.engine import (
    DESK_EXCEPTION_LIMIT_99,
    DESK_EXCEPTION_LIMIT_975,
    LengthMismatchError,
    RiskInputError,
    acerbi_szekely_z1,
    acerbi_szekely_z2,
    desk_backtest,
    z2_critical_value,
)

from . import reference

TOL = 1e-12
#: Monte Carlo error allowed on a simulated 5 % quantile from 100,000 paths (its standard error
#: is about 0.003 for Z2 at T = 250), on top of the paper's two printed decimals.
CRITICAL_TOL = 0.01

Z_ALPHA = 0.025
NORMAL_VAR = float(stats.norm.ppf(1 - Z_ALPHA))
NORMAL_ES = float(stats.norm.pdf(NORMAL_VAR) / Z_ALPHA)


def test_z1_z2_hand_computed() -> None:
    """Four days, VaR 2, ES 4, α = 2.5 %: only day 0 (−3) is an exception.

    Z2 = (−3/4) / (4 · 0.025) + 1 = −6.5 and Z1 = (−3/4) / 1 + 1 = 0.25 (Acerbi & Székely 2014,
    definitions of Z1 and Z2).
    """
    pnl, var, es = [-3.0, 1.0, -1.0, 2.0], [2.0] * 4, [4.0] * 4
    z2 = acerbi_szekely_z2(pnl, var, es, simulations=200)
    z1 = acerbi_szekely_z1(pnl, var, es, simulations=200)
    assert z2.statistic == pytest.approx(-6.5, rel=TOL)
    assert z1.statistic == pytest.approx(0.25, rel=TOL)
    assert (z2.exceptions, z2.observations, z2.simulations) == (1, 4, 200)


def test_z_statistics_match_slow_reference(rng: np.random.Generator) -> None:
    """Z1 and Z2 agree with day-by-day loops of their definitions on varying forecasts."""
    pnl = rng.standard_t(4, 500)
    var = rng.uniform(1.5, 2.5, 500)
    es = var * rng.uniform(1.1, 1.4, 500)
    z2 = acerbi_szekely_z2(pnl, var, es, simulations=200)
    z1 = acerbi_szekely_z1(pnl, var, es, simulations=200)
    assert z2.statistic == pytest.approx(reference.z2(pnl, var, es, 0.025), rel=1e-12)
    assert z1.statistic == pytest.approx(reference.z1(pnl, var, es), rel=1e-12)


def test_z2_critical_value_matches_acerbi_szekely() -> None:
    """The 5 % critical value of Z2 at T = 250, α = 2.5 % is −0.70 (Acerbi & Székely 2014, who
    report it as nearly distribution-independent); simulated here under a normal null.
    """
    assert z2_critical_value(0.05, 250, simulations=100_000) == pytest.approx(
        -0.70, abs=CRITICAL_TOL
    )


def test_z2_critical_value_is_more_negative_for_fat_tails() -> None:
    """Fatter tails widen Z2's null distribution: t(3)'s 5 % critical value is below t(100)'s."""
    fat = z2_critical_value(0.05, null="t", df=3, simulations=20_000)
    thin = z2_critical_value(0.05, null="t", df=100, simulations=20_000)
    assert fat < thin < 0.0


def test_correct_forecasts_pass_and_halved_forecasts_fail(rng: np.random.Generator) -> None:
    """P&L drawn from the forecast law is not rejected; the same P&L against VaR/ES halved
    (risk underestimated by half) is rejected at 0.1 %.
    """
    pnl = rng.standard_normal(250)
    var = np.full(250, NORMAL_VAR)
    es = np.full(250, NORMAL_ES)
    right = acerbi_szekely_z2(pnl, var, es, simulations=5_000)
    wrong = acerbi_szekely_z2(pnl, var / 2, es / 2, simulations=5_000)
    assert right.p_value > 0.05
    assert wrong.p_value < 0.001
    assert wrong.statistic < right.statistic


def test_p_value_is_seeded_and_never_zero(rng: np.random.Generator) -> None:
    """Same seed, same p-value; an extreme statistic gets 1/(N + 1), never 0."""
    pnl = rng.standard_normal(250)
    var, es = np.full(250, 0.1), np.full(250, 0.2)
    first = acerbi_szekely_z2(pnl, var, es, simulations=500, seed=7)
    again = acerbi_szekely_z2(pnl, var, es, simulations=500, seed=7)
    assert first == again
    assert first.p_value == pytest.approx(1 / 501, rel=TOL)


def test_student_t_null_is_labelled(rng: np.random.Generator) -> None:
    """A Student-t null runs and is named in the result, with Z1's p-value in (0, 1]."""
    pnl = rng.standard_t(5, 250)
    result = acerbi_szekely_z1(pnl, np.full(250, 2.0), np.full(250, 3.0), null="t", df=5)
    assert result.null == "t(5)"
    assert 0.0 < result.p_value <= 1.0


def test_z1_without_exceptions_is_undefined() -> None:
    """No VaR exception: Z1 has nothing to average; statistic and p-value are NaN."""
    result = acerbi_szekely_z1([1.0, 2.0, 0.5], [1.0] * 3, [2.0] * 3, simulations=100)
    assert math.isnan(result.statistic)
    assert math.isnan(result.p_value)
    assert result.exceptions == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"es": [2.0, 0.0, 2.0]}, "positive"),
        ({"es": [2.0, 0.5, 2.0]}, "at least var"),
        ({"es": [2.0, 2.0]}, "aligned"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"null": "cauchy"}, "null"),
        ({"null": "t", "df": 1.0}, "df"),
        ({"simulations": 10}, "simulations"),
        ({"simulations": 1000.0}, "simulations"),
    ],
)
def test_z2_rejects_bad_inputs(kwargs: dict[str, object], match: str) -> None:
    """Bad forecasts or options are input errors naming the problem."""
    args: dict[str, object] = {"pnl": [-1.0, 0.5, 0.2], "var": [1.0] * 3, "es": [2.0] * 3}
    args.update(kwargs)
    with pytest.raises(RiskInputError, match=match):
        acerbi_szekely_z2(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"observations": 0}, "observations"),
        ({"observations": True}, "observations"),
        ({"significance": 1.0}, "onfidence"),
        ({"alpha": -0.1}, "alpha"),
        ({"null": "x"}, "null"),
    ],
)
def test_critical_value_rejects_bad_inputs(kwargs: dict[str, object], match: str) -> None:
    """Bad critical-value settings are input errors."""
    args: dict[str, object] = {"significance": 0.05, "simulations": 100}
    args.update(kwargs)
    with pytest.raises(RiskInputError, match=match):
        z2_critical_value(**args)  # type: ignore[arg-type]


def _desk_history(big: int, medium: int, days: int = 250) -> tuple[np.ndarray, float, float]:
    """`big` losses beyond both VaRs and `medium` losses beyond only the 97.5 % VaR."""
    pnl = np.full(days, 0.1)
    pnl[:big] = -1.5
    pnl[big : big + medium] = -0.9
    return pnl, 1.0, 0.8


@pytest.mark.parametrize(
    ("big", "medium", "eligible"),
    [
        (12, 18, True),  # exactly at both limits (12 at 99 %, 30 at 97.5 %)
        (13, 17, False),  # 13 > 12 at 99 %
        (12, 19, False),  # 31 > 30 at 97.5 %
        (0, 0, True),
    ],
)
def test_desk_backtest_limits_mar32(big: int, medium: int, eligible: bool) -> None:
    """MAR32 desk-level backtesting: more than 12 exceptions at 99 % or more than 30 at 97.5 %
    in 250 days fail the desk; exactly 12 and 30 do not.
    """
    pnl, var99, var975 = _desk_history(big, medium)
    result = desk_backtest(pnl, np.full(250, var99), np.full(250, var975))
    assert (result.exceptions_99, result.exceptions_975) == (big, big + medium)
    assert result.limit_99 == DESK_EXCEPTION_LIMIT_99
    assert result.limit_975 == DESK_EXCEPTION_LIMIT_975
    assert result.limit_99 == 12
    assert result.limit_975 == 30
    assert result.eligible is eligible


def test_desk_backtest_counts_the_last_250_days() -> None:
    """Older exceptions fall out of the 250-day window."""
    pnl, var99, var975 = _desk_history(20, 0, days=300)  # all 20 in the first 50 days
    result = desk_backtest(pnl, np.full(300, var99), np.full(300, var975))
    assert result.observations == 250
    assert (result.exceptions_99, result.exceptions_975) == (0, 0)


def test_desk_backtest_rejects_misaligned_series() -> None:
    """VaR series must be as long as the P&L."""
    with pytest.raises(LengthMismatchError):
        desk_backtest([0.0] * 10, [1.0] * 9, [1.0] * 10)
