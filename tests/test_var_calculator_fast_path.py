"""The list facade's fast conversion answers exactly as the engine's per-symbol path."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from risk_service.engine import RiskInputError, portfolio_var
from risk_service.var_calculator import calculate_portfolio_var


def _book(n_pos: int, n_obs: int) -> tuple[dict[str, float], dict[str, list[float]]]:
    rng = np.random.default_rng(n_pos + n_obs)
    returns = rng.standard_t(4, size=(n_obs, n_pos)) * 0.01
    symbols = [f"S{i}" for i in range(n_pos)]
    positions = {s: float(w) for s, w in zip(symbols, rng.normal(0, 1e6, n_pos), strict=True)}
    return positions, {s: returns[:, i].tolist() for i, s in enumerate(symbols)}


@pytest.mark.parametrize(("n_pos", "n_obs"), [(1, 100), (7, 250), (60, 1_000)])
def test_fast_path_equals_the_engine_by_symbol(n_pos: int, n_obs: int) -> None:
    """Figures and allocations are bit-identical to the engine over the same mappings."""
    positions, returns = _book(n_pos, n_obs)
    returns["EXTRA"] = [0.5] * n_obs  # extra series are ignored, as before
    got = calculate_portfolio_var(positions, returns, 0.99)
    ref = portfolio_var(positions, returns, 0.99)
    assert got["portfolio_var"] == ref.var
    assert got["expected_shortfall"] == ref.es
    assert got["component_var"] == dict(ref.component)
    assert got["standalone_var"] == dict(ref.standalone)
    assert got["marginal_var"] == dict(ref.marginal)
    assert list(got["component_var"]) == list(positions)


def _message(positions: dict[str, Any], returns: dict[str, Any]) -> tuple[type, str, str | None]:
    with pytest.raises(RiskInputError) as info:
        calculate_portfolio_var(positions, returns, 0.99)
    return type(info.value), info.value.message, info.value.field


@pytest.mark.parametrize(
    ("positions", "returns"),
    [
        ({"A": 1.0, "B": 2.0}, {"A": [0.01, 0.02], "B": [0.01, "x"]}),
        ({"A": 1.0, "B": 2.0}, {"A": [0.01, 0.02], "B": [0.01, None]}),
        ({"A": 1.0, "B": 2.0}, {"A": [0.01, 0.02], "B": [0.01, math.nan]}),
        ({"A": 1.0, "B": 2.0}, {"A": [0.01, 0.02], "B": [0.01, math.inf]}),
        ({"A": 1.0, "B": 2.0}, {"A": [0.01, 0.02], "B": [0.01]}),
        ({"A": 1.0, "B": 2.0}, {"A": [0.01, 0.02], "B": [0.01, [0.02]]}),
        ({"A": math.nan, "B": 2.0}, {"A": [0.01, 0.02], "B": [0.01, 0.03]}),
        ({"A": "1", "B": 2.0}, {"A": [0.01, 0.02], "B": [0.01, 0.03]}),
    ],
    ids=["string", "none", "nan", "inf", "ragged", "nested", "nan-position", "string-position"],
)
def test_bad_lists_get_the_engines_message(
    positions: dict[str, Any], returns: dict[str, Any]
) -> None:
    """Input the fast conversion refuses is reported by the engine's per-symbol checks, naming
    the series, exactly as the engine reports it for the same mappings."""
    kind, message, field = _message(positions, returns)
    with pytest.raises(RiskInputError) as ref:
        portfolio_var(positions, returns, 0.99)
    assert (kind, message, field) == (type(ref.value), ref.value.message, ref.value.field)
    assert field is not None
    assert field.startswith(("returns", "positions"))


@pytest.mark.parametrize("seed", range(6))
def test_standalone_selected_in_place_equals_the_engine_with_zeros_and_ints(seed: int) -> None:
    """The facade's in-place standalone VaRs are the engine's floats with zero weights, all-zero
    and mostly-zero series, whole-number returns, longs and shorts (a zero's sign is numpy's
    selection's, alignment-dependent: see tests/engine/test_ranks.py)."""
    rng = np.random.default_rng(seed)
    n_pos, n_obs = 12, 300
    returns = np.round(rng.standard_t(4, size=(n_obs, n_pos)) * 0.01, 3 + seed % 2)
    returns[:, 1] = 0.0
    returns[rng.random(n_obs) < 0.995, 2] = 0.0
    symbols = [f"S{i}" for i in range(n_pos)]
    weights = rng.normal(0, 1e6, n_pos)
    weights[3] = 0.0
    weights[4] = -abs(weights[4])
    positions = {s: float(w) for s, w in zip(symbols, weights, strict=True)}
    lists: dict[str, list[Any]] = {s: returns[:, i].tolist() for i, s in enumerate(symbols)}
    lists["S5"] = [int(x * 1000) for x in returns[:, 5]]  # whole numbers: packed as floats
    got = calculate_portfolio_var(positions, lists, 0.99)
    ref = portfolio_var(positions, {s: [float(x) for x in v] for s, v in lists.items()}, 0.99)
    assert got["standalone_var"] == dict(ref.standalone)
    assert got["component_var"] == dict(ref.component)
    assert lists["S0"] == returns[:, 0].tolist()  # the caller's lists are left alone


def test_arrays_and_tuples_go_the_engines_way_with_the_same_answer() -> None:
    """Series given as numpy arrays or tuples (not lists) are answered by the engine's
    per-symbol path: the same figures as for lists."""
    positions, returns = _book(5, 250)
    as_lists = calculate_portfolio_var(positions, returns, 0.99)
    for convert in (np.asarray, tuple):
        other = {s: convert(v) for s, v in returns.items()}
        assert calculate_portfolio_var(positions, other, 0.99) == as_lists
