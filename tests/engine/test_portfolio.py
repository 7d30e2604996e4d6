"""Portfolio VaR, ES and allocations across methods."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from risk_service.engine import (
    ALLOCATION_LABELS,
    DistributionError,
    HorizonError,
    InsufficientDataWarning,
    LengthMismatchError,
    MethodError,
    MissingSymbolError,
    NotPSDError,
    RiskInputError,
    ShapeError,
    batch_risk,
    ewma_variance,
    filtered_historical_var,
    monte_carlo_var,
    parametric_var,
    portfolio_var,
)
from risk_service.engine._typing import FloatArray

from . import reference

REL_TOL = 1e-9
Z99 = 2.3263478740408408  # Φ⁻¹(0.99), e.g. Abramowitz & Stegun table 26.5


def _book(
    rng: np.random.Generator, n_pos: int = 6, n_obs: int = 500
) -> tuple[FloatArray, FloatArray]:
    weights = rng.normal(0.0, 1e6, n_pos)
    mix = rng.normal(size=(n_pos, n_pos)) * 0.3 + np.eye(n_pos)
    scenarios = rng.standard_t(4, size=(n_obs, n_pos)) @ mix * 0.01
    return weights, scenarios


# --- parametric: closed form ------------------------------------------------------------------

TWO_ASSET_COV = np.array([[4e-4, 1e-4], [1e-4, 1e-4]])  # σ = 2 %, 1 %; ρ = 0.5
TWO_ASSET_W = {"A": 100.0, "B": 200.0}


def test_parametric_two_asset_closed_form() -> None:
    """Σw = (0.06, 0.03), wᵀΣw = 12 → VaR = z·√12; each Euler component z·6/√12 = VaR/2."""
    risk = parametric_var(TWO_ASSET_W, TWO_ASSET_COV, 0.99)
    assert risk.var == pytest.approx(Z99 * math.sqrt(12), rel=REL_TOL)
    assert risk.component["A"] == pytest.approx(Z99 * 6 / math.sqrt(12), rel=REL_TOL)
    assert risk.component["B"] == pytest.approx(Z99 * 6 / math.sqrt(12), rel=REL_TOL)
    assert risk.marginal["A"] == pytest.approx(Z99 * 0.06 / math.sqrt(12), rel=REL_TOL)
    assert risk.marginal["B"] == pytest.approx(Z99 * 0.03 / math.sqrt(12), rel=REL_TOL)
    # Without A the book is 200 × 1 % (σ = 2); without B it is 100 × 2 % (σ = 2).
    assert risk.incremental["A"] == pytest.approx(Z99 * (math.sqrt(12) - 2), rel=REL_TOL)
    assert risk.incremental["B"] == pytest.approx(Z99 * (math.sqrt(12) - 2), rel=REL_TOL)
    assert risk.standalone == pytest.approx({"A": 2 * Z99, "B": 2 * Z99}, rel=REL_TOL)
    assert risk.es == pytest.approx(math.sqrt(12) * stats.norm.pdf(Z99) / 0.01, rel=REL_TOL)
    assert risk.method == "parametric"
    assert risk.convention == "normal"


def test_parametric_es_equals_integrated_quantile() -> None:
    """ES = (1/(1 − c))·∫_c^1 VaR_u du, integrated numerically (normal and Student-t)."""
    for dof in (None, 5.0):
        risk = parametric_var(TWO_ASSET_W, TWO_ASSET_COV, 0.975, dof=dof)
        integral, _ = integrate.quad(
            lambda u, d=dof: parametric_var(TWO_ASSET_W, TWO_ASSET_COV, u, dof=d).var,
            0.975,
            1.0,
            limit=200,
        )
        assert risk.es == pytest.approx(integral / 0.025, rel=1e-6)


def test_student_t_quantile_has_unit_variance_scaling() -> None:
    """Student-t VaR = σ·√((ν − 2)/ν)·t_ν⁻¹(c) and exceeds the normal VaR in the far tail."""
    sigma = math.sqrt(12)
    risk = parametric_var(TWO_ASSET_W, TWO_ASSET_COV, 0.99, dof=4.0)
    assert risk.var == pytest.approx(sigma * math.sqrt(0.5) * stats.t.ppf(0.99, 4), rel=REL_TOL)
    assert risk.var > parametric_var(TWO_ASSET_W, TWO_ASSET_COV, 0.999).var * 0 + 0
    assert risk.convention == "student_t(dof=4)"
    with pytest.raises(DistributionError):
        parametric_var(TWO_ASSET_W, TWO_ASSET_COV, 0.99, dof=2.0)


def test_parametric_from_returns_matches_sample_covariance(rng: np.random.Generator) -> None:
    """method="parametric" over returns equals parametric_var with numpy's sample covariance."""
    weights, scenarios = _book(rng)
    direct = parametric_var(weights, np.cov(scenarios, rowvar=False), 0.99)
    via = portfolio_var(weights, scenarios, 0.99, "parametric")
    assert via.var == pytest.approx(direct.var, rel=REL_TOL)
    assert via.es == pytest.approx(direct.es, rel=REL_TOL)
    for key in direct.keys:
        assert via.component[key] == pytest.approx(direct.component[key], rel=1e-8, abs=1e-6)
        assert via.incremental[key] == pytest.approx(direct.incremental[key], rel=1e-8, abs=1e-6)
        assert via.standalone[key] == pytest.approx(direct.standalone[key], rel=REL_TOL)


def test_parametric_rejects_bad_covariance() -> None:
    """Non-symmetric, indefinite and mis-shaped covariances are refused with a reason."""
    with pytest.raises(NotPSDError, match="not symmetric"):
        parametric_var([1.0, 1.0], [[1.0, 0.5], [0.2, 1.0]])
    with pytest.raises(NotPSDError, match="positive semi-definite"):
        parametric_var([1.0, 1.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ShapeError, match="2x2"):
        parametric_var([1.0, 1.0], [[1.0]])


def test_zero_variance_book() -> None:
    """A book with no variance has zero VaR and zero allocations (no division by zero)."""
    risk = parametric_var([0.0, 0.0], TWO_ASSET_COV)
    assert risk.var == 0.0
    assert all(v == 0.0 for v in risk.component.values())


@pytest.mark.parametrize("order", ["C", "F"])
def test_incremental_and_standalone_do_not_depend_on_layout_or_chunking(order: str) -> None:
    """Row- or column-major scenarios, and books wider than one chunk of positions, give the
    same floats as the plain definitions (VaR of losses + rᵢwᵢ, and of −rᵢwᵢ, one by one).

    Guards the in-place, column-major selections the engine uses for speed.
    """
    rng = np.random.default_rng(11)
    n_obs, n_pos = 300, 600  # more positions than one chunk (512)
    scenarios = np.asarray(rng.standard_t(4, (n_obs, n_pos)) * 0.01, order=order)
    weights = rng.normal(0.0, 1e6, n_pos)
    weights[7] = 0.0
    risk = portfolio_var(weights, scenarios, 0.99)
    k = math.ceil(round(0.99 * n_obs, 9)) - 1
    losses = -(scenarios @ weights)
    plain_incremental = [
        risk.var - np.partition(losses + scenarios[:, i] * weights[i], k)[k] for i in range(n_pos)
    ]
    plain_standalone = [np.partition(-(scenarios[:, i] * weights[i]), k)[k] for i in range(n_pos)]
    assert list(risk.incremental.values()) == plain_incremental
    assert list(risk.standalone.values()) == plain_standalone
    assert risk.standalone["7"] == 0.0


# --- historical against the slow reference ----------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_historical_matches_reference_on_random_books(seed: int) -> None:
    """VaR, ES, Euler, incremental and standalone VaR agree with the slow reference."""
    rng = np.random.default_rng(seed)
    weights, scenarios = _book(rng, n_pos=5, n_obs=300)
    rows = scenarios.tolist()
    w = weights.tolist()
    c = 0.99
    risk = portfolio_var(weights, scenarios, c)
    pnl = reference.portfolio_pnl(w, rows)
    assert risk.var == pytest.approx(reference.var(pnl, c), rel=REL_TOL)
    assert risk.es == pytest.approx(reference.es(pnl, c), rel=REL_TOL)
    assert list(risk.component.values()) == pytest.approx(
        reference.euler_components(w, rows, c), rel=REL_TOL
    )
    assert list(risk.incremental.values()) == pytest.approx(
        reference.incremental(w, rows, c), rel=1e-8, abs=1e-6
    )
    assert list(risk.standalone.values()) == pytest.approx(
        reference.standalone(w, rows, c), rel=REL_TOL
    )
    assert risk.observations == 300
    assert risk.gross_notional == pytest.approx(np.abs(weights).sum())
    assert risk.net_notional == pytest.approx(weights.sum())


def test_component_es_sums_to_es(rng: np.random.Generator) -> None:
    """Euler component ES sums to the portfolio ES."""
    weights, scenarios = _book(rng)
    risk = portfolio_var(weights, scenarios, 0.975)
    assert sum(risk.component_es.values()) == pytest.approx(risk.es, rel=REL_TOL)


def test_zero_net_book(rng: np.random.Generator) -> None:
    """A zero-net long/short book (net notional 0) has the VaR of its spread P&L."""
    common = rng.normal(0, 0.01, 400)
    returns = {"A": common + rng.normal(0, 0.002, 400), "B": common + rng.normal(0, 0.002, 400)}
    risk = portfolio_var({"A": 1e6, "B": -1e6}, returns, 0.99)
    spread = (returns["A"] - returns["B"]) * 1e6
    assert risk.net_notional == 0.0
    assert risk.var == pytest.approx(reference.var(spread.tolist(), 0.99), rel=REL_TOL)
    assert 0 < risk.var < 1e6 * 0.02


def test_net_short_book_gains_when_market_falls() -> None:
    """A net-short book loses when prices rise: its VaR comes from the up moves."""
    returns = {"A": [-0.05, -0.02, 0.0, 0.01, 0.04] * 20}
    risk = portfolio_var({"A": -1e6}, returns, 0.95)
    assert risk.var == pytest.approx(0.04 * 1e6)
    assert risk.component["A"] == pytest.approx(risk.var)


def test_mapping_alignment_and_errors() -> None:
    """Mappings align by symbol; missing symbols and unequal lengths are errors, never truncated."""
    risk = portfolio_var(
        {"B": 2.0, "A": 1.0}, {"A": [0.01, -0.02], "B": [0.0, 0.01], "C": [1, 2]}, 0.5
    )
    assert risk.keys == ("B", "A")
    with pytest.raises(MissingSymbolError, match="No returns data for X"):
        portfolio_var({"X": 1.0}, {"A": [0.1]})
    with pytest.raises(LengthMismatchError, match="A=3, B=2"):
        portfolio_var({"A": 1.0, "B": 1.0}, {"A": [0.1, 0.2, 0.3], "B": [0.1, 0.2]})
    with pytest.raises(LengthMismatchError, match="3 columns but there are 2"):
        portfolio_var([1.0, 1.0], np.ones((4, 3)))
    with pytest.raises(ShapeError):
        portfolio_var({"A": 1.0}, np.ones((4, 1)))
    with pytest.raises(ShapeError):
        portfolio_var([1.0], {"A": [0.1]})


def test_methods_and_labels(rng: np.random.Generator) -> None:
    """Every method names itself; unknown methods list the valid ones; labels say what is what."""
    weights, scenarios = _book(rng)
    for method in ("historical", "parametric", "monte_carlo", "filtered_historical"):
        risk = portfolio_var(weights, scenarios, 0.99, method)
        assert risk.method == method
        assert sum(risk.component.values()) == pytest.approx(risk.var, rel=REL_TOL)
        assert risk.es >= risk.var
    with pytest.raises(MethodError, match="choose one of: historical"):
        portfolio_var(weights, scenarios, 0.99, "magic")
    assert set(ALLOCATION_LABELS) == {
        "component",
        "component_es",
        "marginal",
        "incremental",
        "standalone",
    }
    assert "Euler" in portfolio_var(weights, scenarios).labels["component"]


def test_linear_convention_allocations_follow_interpolation(rng: np.random.Generator) -> None:
    """With numpy's linear convention VaR is interpolated and Euler components still sum to it."""
    weights, scenarios = _book(rng, n_obs=333)
    risk = portfolio_var(weights, scenarios, 0.99, convention="linear")
    losses = -(scenarios @ weights)
    assert risk.var == pytest.approx(np.quantile(losses, 0.99, method="linear"), rel=REL_TOL)
    assert sum(risk.component.values()) == pytest.approx(risk.var, rel=REL_TOL)
    assert risk.convention == "linear"
    assert list(risk.standalone.values()) == pytest.approx(
        np.quantile(-(scenarios * weights), 0.99, axis=0, method="linear"), rel=REL_TOL
    )


def test_kernel_smoothed_components(rng: np.random.Generator) -> None:
    """Kernel-smoothed Euler components still sum to the VaR and track the raw components."""
    weights, scenarios = _book(rng, n_pos=4, n_obs=2000)
    raw = portfolio_var(weights, scenarios, 0.99)
    smooth = portfolio_var(weights, scenarios, 0.99, smoothing=True)
    assert smooth.var == raw.var
    assert sum(smooth.component.values()) == pytest.approx(raw.var, rel=REL_TOL)
    assert smooth.component != raw.component


# --- Monte Carlo ------------------------------------------------------------------------------


def test_monte_carlo_is_reproducible_and_converges() -> None:
    """Same seed, same figures; 200,000 normal draws land within 1.5 % of the closed form."""
    a = monte_carlo_var(TWO_ASSET_W, TWO_ASSET_COV, 0.99, simulations=200_000, seed=11)
    b = monte_carlo_var(TWO_ASSET_W, TWO_ASSET_COV, 0.99, simulations=200_000, seed=11)
    c = monte_carlo_var(TWO_ASSET_W, TWO_ASSET_COV, 0.99, simulations=200_000, seed=12)
    exact = parametric_var(TWO_ASSET_W, TWO_ASSET_COV, 0.99)
    assert a == b
    assert a.var != c.var
    assert a.var == pytest.approx(exact.var, rel=0.015)
    assert a.es == pytest.approx(exact.es, rel=0.015)


def test_monte_carlo_student_t_converges() -> None:
    """Monte Carlo with unit-variance t draws converges to the parametric Student-t VaR."""
    mc = monte_carlo_var(TWO_ASSET_W, TWO_ASSET_COV, 0.99, simulations=200_000, seed=3, dof=5.0)
    exact = parametric_var(TWO_ASSET_W, TWO_ASSET_COV, 0.99, dof=5.0)
    assert mc.var == pytest.approx(exact.var, rel=0.02)


def test_monte_carlo_from_returns_wide_book(rng: np.random.Generator) -> None:
    """With more positions than observations MC samples from the data's own covariance."""
    weights = rng.normal(0, 1e6, 50)
    scenarios = rng.normal(0, 0.01, (30, 50))
    mc = portfolio_var(weights, scenarios, 0.99, "monte_carlo", simulations=100_000, seed=5)
    exact = portfolio_var(weights, scenarios, 0.99, "parametric")
    assert mc.var == pytest.approx(exact.var, rel=0.03)
    with pytest.raises(RiskInputError, match="simulations"):
        portfolio_var(weights, scenarios, 0.99, "monte_carlo", simulations=0)


# --- EWMA, FHS, horizons -----------------------------------------------------------------------


def test_ewma_matches_loop(sp500_returns: FloatArray) -> None:
    """The vectorised RiskMetrics recursion equals the plain loop on real S&P 500 returns."""
    fast = ewma_variance(sp500_returns, 0.94)
    slow = reference.ewma_variance(sp500_returns.tolist(), 0.94)
    assert fast == pytest.approx(np.array(slow), rel=1e-10)


def test_fhs_matches_slow_rescaling(sp500_returns: FloatArray) -> None:
    """FHS VaR equals the reference VaR of returns rescaled by σ_{T+1}/σ_t."""
    sigma = np.sqrt(reference.ewma_variance(sp500_returns.tolist(), 0.94))
    rescaled = [r * sigma[-1] / s for r, s in zip(sp500_returns.tolist(), sigma[:-1], strict=True)]
    var, es = filtered_historical_var(sp500_returns, 0.99)
    assert var == pytest.approx(reference.var(rescaled, 0.99), rel=1e-9)
    assert es == pytest.approx(reference.es(rescaled, 0.99), rel=1e-9)


def test_sqrt_time_scaling(rng: np.random.Generator) -> None:
    """horizon_days = 10 with the √h rule multiplies VaR, ES and allocations by √10."""
    weights, scenarios = _book(rng)
    one = portfolio_var(weights, scenarios, 0.99)
    ten = portfolio_var(weights, scenarios, 0.99, horizon_days=10)
    assert ten.var == pytest.approx(one.var * math.sqrt(10), rel=REL_TOL)
    assert ten.es == pytest.approx(one.es * math.sqrt(10), rel=REL_TOL)
    key = one.keys[0]
    assert ten.standalone[key] == pytest.approx(one.standalone[key] * math.sqrt(10), rel=REL_TOL)
    assert ten.horizon_days == 10


def test_overlapping_horizon_matches_loop(rng: np.random.Generator) -> None:
    """Overlapping 5-day VaR is the VaR of every 5-day sum of daily P&L, built in a loop."""
    weights, scenarios = _book(rng, n_obs=400)
    risk = portfolio_var(weights, scenarios, 0.99, horizon_days=5, horizon_method="overlapping")
    daily = reference.portfolio_pnl(weights.tolist(), scenarios.tolist())
    five = [sum(daily[t : t + 5]) for t in range(len(daily) - 4)]
    assert risk.observations == 396
    assert risk.var == pytest.approx(reference.var(five, 0.99), rel=REL_TOL)
    with pytest.raises(RiskInputError, match="historical method only"):
        portfolio_var(
            weights, scenarios, 0.99, "parametric", horizon_days=5, horizon_method="overlapping"
        )
    with pytest.raises(HorizonError):
        portfolio_var(weights, scenarios, 0.99, horizon_days=0)
    with pytest.raises(HorizonError, match="longer than"):
        portfolio_var(weights, scenarios[:3], 0.5, horizon_days=5, horizon_method="overlapping")
    with pytest.raises(RiskInputError, match="horizon_method"):
        portfolio_var(weights, scenarios, horizon_method="cubic")


# --- batch ------------------------------------------------------------------------------------


def test_batch_matches_single_portfolio_calls(rng: np.random.Generator) -> None:
    """batch_risk gives, for every portfolio, the same VaR 95/99, ES 97.5 and components."""
    _, scenarios = _book(rng, n_pos=8, n_obs=600)
    exposures = rng.normal(0, 1e6, (7, 8))
    exposures[3] = 0.0  # an empty portfolio
    batch = batch_risk(exposures, scenarios)
    for p in range(7):
        for c in (0.95, 0.99):
            single = portfolio_var(exposures[p], scenarios, c)
            assert batch.var[c][p] == pytest.approx(single.var, rel=REL_TOL, abs=1e-12)
            assert batch.component[c][p] == pytest.approx(
                np.array(list(single.component.values())), rel=REL_TOL, abs=1e-9
            )
        assert batch.es[p] == pytest.approx(
            portfolio_var(exposures[p], scenarios, 0.975).es, rel=REL_TOL, abs=1e-12
        )
    assert batch.pnl.shape == (600, 7)


def test_batch_validates_shapes() -> None:
    """Exposures and returns must cover the same instruments."""
    with pytest.raises(LengthMismatchError):
        batch_risk(np.ones((2, 3)), np.ones((100, 4)))


def test_batch_confidence_beyond_rank_resolution(rng: np.random.Generator) -> None:
    """batch_risk gives the worst loss as ES when c·n rounds to n, like expected_shortfall."""
    _, scenarios = _book(rng, n_pos=3, n_obs=50)
    exposures = rng.normal(0, 1e6, (2, 3))
    with pytest.warns(InsufficientDataWarning):
        batch = batch_risk(exposures, scenarios, var_levels=(0.99,), es_level=0.99999999999)
    assert batch.es == pytest.approx((-(scenarios @ exposures.T)).max(axis=0), rel=REL_TOL)
