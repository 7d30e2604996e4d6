"""Shared data for the engine tests."""

from __future__ import annotations

import numpy as np
import pytest
from arch.data import sp500

from risk_service.engine._typing import FloatArray


@pytest.fixture(scope="session")
def sp500_returns() -> FloatArray:
    """S&P 500 daily log returns 1999-01-05 … 2018-12-31, shipped inside the arch package."""
    prices = sp500.load()["Adj Close"].to_numpy(dtype=np.float64)
    return np.diff(np.log(prices))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test run sees the same data."""
    return np.random.default_rng(20261126)
