"""Horizon scaling: the square-root-of-time rule and overlapping h-day historical returns.

The √h rule assumes i.i.d. returns with zero mean (Basel: "10-day VaR may be scaled up from
1-day VaR by √10"). Overlapping h-day windows use every h-day sum of daily P&L — T − h + 1
correlated observations rather than ⌊T/h⌋ independent ones.
"""

from __future__ import annotations

import enum
import math
from typing import Any

import numpy as np

from ._typing import FloatArray
from .errors import RiskInputError


class HorizonError(RiskInputError):
    """Invalid horizon: not a positive whole number of days, or longer than the history."""

    code = "invalid_horizon"


class HorizonMethod(enum.StrEnum):
    """How a one-day figure becomes an h-day figure."""

    SQRT = "sqrt"
    OVERLAPPING = "overlapping"


def check_horizon(horizon_days: object) -> int:
    """Return the horizon as an int ≥ 1, or raise."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise HorizonError(
            f"horizon_days must be a whole number of days >= 1, got {horizon_days!r}",
            field="horizon_days",
        )
    return horizon_days


def sqrt_time_factor(horizon_days: int) -> float:
    """√h."""
    return math.sqrt(check_horizon(horizon_days))


def overlapping_sums(values: Any, horizon_days: int) -> FloatArray:
    """Overlapping h-day sums along the first axis: T − h + 1 rows (log returns or P&L)."""
    h = check_horizon(horizon_days)
    x = np.asarray(values, dtype=np.float64)
    if x.shape[0] < h:
        raise HorizonError(
            f"horizon of {h} days is longer than the {x.shape[0]} observations",
            field="horizon_days",
        )
    if h == 1:
        return x.copy()
    # Each window summed on its own (no running cumsum) so rounding never accumulates.
    windows = np.lib.stride_tricks.sliding_window_view(x, h, axis=0)
    return np.asarray(windows.sum(axis=-1), dtype=np.float64)


__all__ = [
    "HorizonError",
    "HorizonMethod",
    "check_horizon",
    "overlapping_sums",
    "sqrt_time_factor",
]
