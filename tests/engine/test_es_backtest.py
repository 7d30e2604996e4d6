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
from .z2_null import z2_null_quantile

TOL = 1e-12
#: Monte Carlo error allowed on a simulated 5 % quantile from 100,000 paths (its standard error
#: is about 0.003 for Z2 at T = 250 under a normal null, 0.005 under t(5)).
CRITICAL_TOL = 0.015

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


@pytest.mark.parametrize(
    ("significance", "printed", "precision"),
    [(0.05, -0.70, 0.005), (0.0001, -1.8, 0.05)],
)
def test_z2_null_quantiles_match_the_papers_thresholds(
    significance: float, printed: float, precision: float
) -> None:
    """Z2's critical values at T = 250, α = 2.5 %: −0.70 at 5 % and −1.8 at 0.01 % (Acerbi &
    Székely 2014, "Backtesting expected shortfall", Risk/MSCI; their Basel-style yellow and red
    thresholds), to the printed precision, from the exact null law (tests/engine/z2_null: FFT
    convolution, no simulation) under a normal null.

    Honest sourcing: the paper's own table could not be retrieved here; the two figures are the
    ones commonly quoted from it. They are corroborated independently by MathWorks' published
    critical values (test below) and by the engine's simulation (test after it).
    """
    assert z2_null_quantile(significance, 250) == pytest.approx(printed, abs=precision)


@pytest.mark.parametrize(
    ("null", "df", "published"), [("normal", 5.0, -0.34639), ("t", 3.0, -0.42986)]
)
def test_z2_null_quantiles_match_mathworks_published_values(
    null: str, df: float, published: float
) -> None:
    """MathWorks Risk Management Toolbox, esbacktest/unconditionalNormal and unconditionalT
    (Acerbi–Székely Z2 with precomputed critical values), documented example: T = 1966 days,
    VaR level 97.5 %, test level 99 % → critical value −0.34639 (normal) and −0.42986 (t, 3 df).
    The exact null law agrees to 0.002 (their tables are interpolated; five printed decimals)."""
    got = z2_null_quantile(0.01, 1966, null=null, df=df, step=0.01, size=2**18)
    assert got == pytest.approx(published, abs=0.002)


@pytest.mark.parametrize(
    ("significance", "null", "df"), [(0.05, "normal", 5.0), (0.05, "t", 5.0), (0.01, "normal", 5.0)]
)
def test_z2_critical_value_simulation_matches_the_exact_null(
    significance: float, null: str, df: float
) -> None:
    """The engine's simulated critical value (100,000 paths at T = 250) equals the exact null
    quantile within its Monte Carlo error (standard error ≈ 0.003 at 5 %, ≈ 0.006 at 1 %)."""
    simulated = z2_critical_value(significance, 250, null=null, df=df, simulations=100_000)
    exact = z2_null_quantile(significance, 250, null=null, df=df)
    assert simulated == pytest.approx(exact, abs=CRITICAL_TOL if significance >= 0.05 else 0.02)


def test_z2_p_value_is_calibrated_at_the_exact_critical_value() -> None:
    """An observed Z2 just at the exact 5 % critical value gets a simulated p-value of ≈ 5 %:
    the one-sided p-value and the critical values describe the same null."""
    critical = z2_null_quantile(0.05, 250)
    n_exc = 10
    # 10 equal exceptions sized so that Z2 = critical: Σ X / (T·α·ES) = critical − 1
    loss = (1.0 - critical) * 250 * Z_ALPHA * NORMAL_ES / n_exc
    pnl = np.zeros(250)
    pnl[:n_exc] = -loss
    assert loss > NORMAL_VAR
    result = acerbi_szekely_z2(
        pnl, np.full(250, NORMAL_VAR), np.full(250, NORMAL_ES), simulations=40_000
    )
    assert result.statistic == pytest.approx(critical, rel=1e-9)
    assert result.p_value == pytest.approx(0.05, abs=0.004)


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
