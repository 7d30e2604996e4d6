"""FRTB expected shortfall: the MAR33 liquidity-horizon cascade, stressed ES and its window."""

from __future__ import annotations

import math

import numpy as np
import pytest

from risk_service.engine import (
    LIQUIDITY_HORIZONS,
    HorizonError,
    InsufficientDataWarning,
    LiquidityHorizonError,
    MissingSymbolError,
    NonFiniteError,
    RiskInputError,
    base_horizon_es,
    es_by_column,
    expected_shortfall,
    frtb_es,
    liquidity_horizon_es,
    overlapping_sums,
    rolling_es,
    stressed_es,
    stressed_window,
)

from . import reference

TOL = 1e-12


def test_cascade_hand_computed_mar33_4() -> None:
    """MAR33.4 cascade, by hand: ES_j = 10, 8, 6, 4, 2 at LH 10/20/40/60/120, T = 10.

    ES² = 10² + (8·√(10/10))² + (6·√(20/10))² + (4·√(20/10))² + (2·√(60/10))²
        = 100 + 64 + 72 + 32 + 24 = 292, so ES = √292 = 17.088007…
    """
    assert LIQUIDITY_HORIZONS == (10, 20, 40, 60, 120)
    assert liquidity_horizon_es([10.0, 8.0, 6.0, 4.0, 2.0]) == pytest.approx(
        math.sqrt(292.0), rel=TOL
    )


def test_cascade_with_only_the_base_horizon_is_the_base_es() -> None:
    """With every factor at the base horizon, the cascade is |ES_0| (no liquidity add-on)."""
    assert liquidity_horizon_es([7.5], horizons=(10,)) == pytest.approx(7.5, rel=TOL)


def test_cascade_custom_horizons_and_base() -> None:
    """Other horizon ladders follow the same formula: T = 20, LH = 20, 80 → √(3² + (4·√3)²)."""
    value = liquidity_horizon_es([3.0, 4.0], horizons=(20, 80), base_horizon=20)
    assert value == pytest.approx(math.sqrt(9.0 + 48.0), rel=TOL)


@pytest.mark.parametrize(
    ("es", "horizons", "base"),
    [
        ([1.0, 1.0], (20, 40), 10),  # first horizon is not the base horizon
        ([1.0, 1.0, 1.0], (10, 40, 20), 10),  # not increasing
        ([1.0, 1.0], (10, 10), 10),  # not strictly increasing
        ([1.0, 1.0], (10, 20, 40), 10),  # one ES per horizon
        ([1.0], (), 10),  # no horizon
    ],
)
def test_cascade_rejects_inconsistent_horizons(
    es: list[float], horizons: tuple[int, ...], base: int
) -> None:
    """Horizons must start at T, increase strictly and match the ES figures one to one."""
    with pytest.raises(LiquidityHorizonError):
        liquidity_horizon_es(es, horizons=horizons, base_horizon=base)


def test_cascade_rejects_bad_numbers() -> None:
    """NaN ES and a non-integer base horizon are refused with the engine's errors."""
    with pytest.raises(NonFiniteError):
        liquidity_horizon_es([1.0, math.nan, 1.0, 1.0, 1.0])
    with pytest.raises(HorizonError):
        liquidity_horizon_es([1.0], horizons=(10,), base_horizon=2.5)  # type: ignore[arg-type]


def test_stressed_es_ratio_mar33() -> None:
    """ES = ES_R,S × ES_F,C / ES_R,C: 30 × 12 / 10 = 36 (MAR33.4–33.5)."""
    assert stressed_es(30.0, 12.0, 10.0) == pytest.approx(36.0, rel=TOL)


def test_stressed_es_ratio_floored_at_one() -> None:
    """A full set smaller than the reduced set never lowers the stressed ES (ratio floor of 1)."""
    assert stressed_es(30.0, 8.0, 10.0) == pytest.approx(30.0, rel=TOL)
    assert stressed_es(30.0, 8.0, 10.0, floor_ratio=False) == pytest.approx(24.0, rel=TOL)


@pytest.mark.parametrize(
    "args",
    [(30.0, 12.0, 0.0), (30.0, 12.0, -1.0), (math.inf, 1.0, 1.0), ("30", 1.0, 1.0), (True, 1, 1)],
)
def test_stressed_es_rejects_bad_inputs(args: tuple[object, object, object]) -> None:
    """Non-numbers, infinities and a non-positive reduced current ES are refused."""
    with pytest.raises(LiquidityHorizonError):
        stressed_es(*args)  # type: ignore[arg-type]


def test_stressed_window_finds_the_constructed_stress_period(rng: np.random.Generator) -> None:
    """A history whose 250-day stress period is known: three 10-unit losses at each end of
    days 400–649 over small noise. Only the window [400, 650) holds all six, so it is chosen,
    and its ES equals the engine's ES of that slice (every shifted window holds at most five).
    """
    pnl = rng.normal(0.0, 0.1, 1000)
    pnl[[400, 401, 402, 647, 648, 649]] = -10.0
    found = stressed_window(pnl)
    assert (found.start, found.stop) == (400, 650)
    assert found.es == pytest.approx(expected_shortfall(pnl[400:650], 0.975), rel=TOL)
    assert found.es_by_window.shape == (751,)
    assert found.es_by_window.max() == found.es
    # and the stressed ES uses it: reduced-stressed × full-current / reduced-current
    current = pnl[-250:]
    full_current = 1.5 * expected_shortfall(current, 0.975)
    assert stressed_es(found.es, full_current, expected_shortfall(current, 0.975)) == (
        pytest.approx(1.5 * found.es, rel=1e-9)
    )


def test_stressed_window_matches_slow_reference(rng: np.random.Generator) -> None:
    """Every window's ES and the chosen start agree with a loop over es() (tests/reference)."""
    pnl = rng.standard_t(4, 300)
    found = stressed_window(pnl, window=50, confidence=0.975)
    start, value = reference.worst_window_es(pnl.tolist(), 50, 0.975)
    assert found.start == start
    assert found.es == pytest.approx(value, rel=1e-12)
    for i in (0, 17, 250):
        assert found.es_by_window[i] == pytest.approx(
            reference.es(pnl[i : i + 50].tolist(), 0.975), rel=1e-12
        )


def test_stressed_window_extreme_confidence_uses_the_worst_loss() -> None:
    """When c·n rounds to n the window's ES is its worst loss (no tail mass left)."""
    pnl = np.array([-1.0, -5.0, 2.0, -3.0, 0.5, -2.0])
    with pytest.warns(InsufficientDataWarning, match="cannot resolve"):
        found = stressed_window(pnl, window=3, confidence=0.9999999999)
    assert (found.start, found.es) == (0, 5.0)


def test_stressed_window_needs_one_full_window() -> None:
    """A history shorter than the window is refused, not padded."""
    with pytest.raises(LiquidityHorizonError, match="fewer than one 250-day window"):
        stressed_window(np.zeros(100))


def test_base_horizon_overlapping_vs_sqrt_closed_form() -> None:
    """A loss of 1 every day: each overlapping 10-day sum loses 10, so the 10-day ES is 10,
    while √10 × the 1-day ES is only 3.162… (the √h rule understates a trending loss).
    """
    pnl = -np.ones(60)
    assert base_horizon_es(pnl) == pytest.approx(10.0, rel=TOL)
    assert base_horizon_es(pnl, method="sqrt") == pytest.approx(math.sqrt(10.0), rel=TOL)


def test_base_horizon_overlapping_is_es_of_overlapping_sums(rng: np.random.Generator) -> None:
    """The default is the ES of the overlapping 10-day sums of daily P&L."""
    pnl = rng.normal(0.0, 1.0, 500)
    expected = expected_shortfall(overlapping_sums(pnl, 10), 0.975)
    assert base_horizon_es(pnl) == pytest.approx(expected, rel=TOL)


def test_base_horizon_rejects_unknown_method() -> None:
    """An unknown method is an input error naming the choices."""
    with pytest.raises(RiskInputError, match="overlapping or sqrt"):
        base_horizon_es(np.zeros(50), method="cubic")


def _book(rng: np.random.Generator) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Two positions over 1,000 days; A has a known stress period on days 400–649."""
    a = rng.normal(0.0, 0.01, 1000)
    a[[400, 401, 402, 647, 648, 649]] = -0.2
    b = rng.normal(0.0, 0.02, 1000)
    return {"A": 1_000.0, "B": -500.0}, {"A": a, "B": b}


def test_book_partial_es_follow_the_liquidity_horizons(rng: np.random.Generator) -> None:
    """ES_j is the 10-day ES of the positions whose horizon is at least LH_j, over the last
    250 days; horizons with no position contribute 0; the total is the MAR33.4 cascade.
    """
    positions, returns = _book(rng)
    result = frtb_es(positions, returns, {"B": 40})
    pnl_all = 1_000.0 * returns["A"][-250:] - 500.0 * returns["B"][-250:]
    pnl_b = -500.0 * returns["B"][-250:]
    assert result.es_by_horizon[0] == pytest.approx(base_horizon_es(pnl_all), rel=TOL)
    assert result.es_by_horizon[1] == pytest.approx(base_horizon_es(pnl_b), rel=TOL)
    assert result.es_by_horizon[2] == pytest.approx(base_horizon_es(pnl_b), rel=TOL)
    assert result.es_by_horizon[3:] == (0.0, 0.0)
    assert result.liquidity_adjusted_es == pytest.approx(
        liquidity_horizon_es(result.es_by_horizon), rel=TOL
    )
    assert result.liquidity_horizons == {"A": 10, "B": 40}
    assert (result.observations, result.current_observations) == (1000, 250)
    assert result.stressed is None


def test_book_stressed_es_uses_the_reduced_sets_worst_window(rng: np.random.Generator) -> None:
    """With reduced set {A}, the stressed window is A's constructed stress period and
    stressed ES = ES_R,S × ES_F,C / ES_R,C (ratio floored at 1), each a cascade.
    """
    positions, returns = _book(rng)
    result = frtb_es(positions, returns, {"B": 40}, reduced_factors=["A"])
    stressed = result.stressed
    assert stressed is not None
    assert (stressed.window.start, stressed.window.stop) == (400, 650)
    reduced_stressed = liquidity_horizon_es(
        [base_horizon_es(1_000.0 * returns["A"][400:650]), 0.0, 0.0, 0.0, 0.0]
    )
    reduced_current = liquidity_horizon_es(
        [base_horizon_es(1_000.0 * returns["A"][-250:]), 0.0, 0.0, 0.0, 0.0]
    )
    assert stressed.es_reduced_stressed == pytest.approx(reduced_stressed, rel=TOL)
    assert stressed.es_reduced_current == pytest.approx(reduced_current, rel=TOL)
    assert stressed.es_full_current == result.liquidity_adjusted_es
    assert stressed.stressed_es == pytest.approx(
        stressed_es(reduced_stressed, result.liquidity_adjusted_es, reduced_current), rel=TOL
    )
    assert stressed.reduced_share == pytest.approx(
        reduced_current / result.liquidity_adjusted_es, rel=TOL
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"liquidity_horizons": {"B": 30}}, LiquidityHorizonError),
        ({"liquidity_horizons": {"B": True}}, LiquidityHorizonError),
        ({"liquidity_horizons": {"C": 10}}, MissingSymbolError),
        ({"reduced_factors": ["C"]}, MissingSymbolError),
        ({"reduced_factors": []}, MissingSymbolError),
    ],
)
def test_book_rejects_bad_horizons_and_factors(
    rng: np.random.Generator, kwargs: dict[str, object], error: type[Exception]
) -> None:
    """Horizons outside the ladder and names that are not positions are input errors."""
    positions, returns = _book(rng)
    with pytest.raises(error):
        frtb_es(positions, returns, **kwargs)  # type: ignore[arg-type]


def test_es_by_column_is_expected_shortfall_of_each_column(rng: np.random.Generator) -> None:
    """Column-wise ES equals expected_shortfall (and the slow reference) column by column."""
    pnl = rng.standard_t(4, (300, 7))
    got = es_by_column(pnl, 0.975)
    for j in range(7):
        assert got[j] == pytest.approx(expected_shortfall(pnl[:, j], 0.975), rel=TOL)
        assert got[j] == pytest.approx(reference.es(pnl[:, j].tolist(), 0.975), rel=1e-12)


def test_es_by_column_extreme_confidence_is_the_worst_loss() -> None:
    """When c·n rounds to n each column's ES is its worst loss."""
    pnl = np.array([[-1.0, 2.0], [-5.0, -3.0], [2.0, 1.0]])
    with pytest.warns(InsufficientDataWarning, match="cannot resolve"):
        got = es_by_column(pnl, 0.9999999999)
    assert got.tolist() == [5.0, 3.0]


def test_rolling_es_matches_each_windows_es(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every window of every column equals expected_shortfall of that slice, also when the
    columns are processed in several blocks (block size forced small)."""
    from risk_service.engine import frtb  # noqa: PLC0415

    monkeypatch.setattr(frtb, "_ROLLING_BLOCK_CELLS", 2_000)
    pnl = rng.standard_t(4, (120, 5))
    got = rolling_es(pnl, 80, 0.975)
    assert got.shape == (41, 5)
    for i in (0, 13, 40):
        for j in range(5):
            assert got[i, j] == pytest.approx(
                expected_shortfall(pnl[i : i + 80, j], 0.975), rel=TOL
            )
    assert rolling_es(pnl[:, 2], 80).tolist() == pytest.approx(got[:, 2].tolist(), rel=TOL)


def test_rolling_es_needs_one_full_window() -> None:
    """Fewer days than the window is an input error."""
    with pytest.raises(LiquidityHorizonError, match="fewer than one 250-day window"):
        rolling_es(np.zeros((100, 3)), 250)
