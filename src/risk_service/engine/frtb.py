"""FRTB expected shortfall (BCBS MAR33): base-horizon ES, liquidity-horizon cascade, stressed ES.

* **Base horizon.** MAR33 measures ES at 97.5 % over a base horizon of T = 10 days. Here the
  10-day ES comes from *overlapping* 10-day sums of daily P&L (:func:`base_horizon_es`), not from
  √10 × the 1-day ES: the overlapping sums keep the real 10-day path (autocorrelation, volatility
  clustering), where √10 assumes i.i.d. days and understates risk when losses cluster. The √10
  rule stays selectable (``method="sqrt"``) for short histories.
* **Liquidity horizons** (MAR33.4): with ES_j the ES from shocks only to the risk factors whose
  liquidity horizon is at least LH_j (j = 0: all factors),
  ES = sqrt(ES_0² + Σ_{j≥1} (ES_j · sqrt((LH_j − LH_{j−1}) / T))²), LH = 10, 20, 40, 60, 120.
* **A book** (:func:`frtb_es`): each position carries its liquidity horizon; ES_j is the
  base-horizon ES of the P&L of the positions whose horizon is at least LH_j, over the current
  period (the last ``current_window`` days). With a reduced factor set, the stressed ES follows.
* **Stressed ES** (MAR33.4–33.5): ES = ES_R,S × ES_F,C / ES_R,C — the reduced factor set in the
  stressed period, scaled by the full-to-reduced ratio in the current period; the ratio is floored
  at 1 (the reduced set may not make the capital smaller — ``floor_ratio=False`` lifts the floor;
  the floor is the MAR33 text as recalled, not re-checked against it here). The stressed period
  is the worst 250-day window of the reduced set's ES over the available history
  (:func:`stressed_window`).

Errors: :class:`LiquidityHorizonError` (a :class:`~.errors.RiskInputError`) for bad horizons or
ES inputs; the shared validation errors for bad series.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._typing import FloatArray
from ._validation import (
    RANK_DECIMALS,
    as_book,
    as_matrix,
    as_vector,
    check_confidence,
    check_sample_size,
    var_rank,
)
from .errors import MissingSymbolError, RiskInputError
from .horizon import check_horizon, overlapping_sums
from .quantile import expected_shortfall

#: MAR33.12's liquidity horizons in days, and the base horizon T.
LIQUIDITY_HORIZONS: tuple[int, ...] = (10, 20, 40, 60, 120)
BASE_HORIZON = 10
#: MAR33: ES at 97.5 %; a stressed period is at least 12 months (250 business days).
FRTB_CONFIDENCE = 0.975
STRESS_WINDOW = 250


class LiquidityHorizonError(RiskInputError):
    """Bad liquidity horizons, base horizon or ES inputs to an FRTB formula."""

    code = "invalid_liquidity_horizon"


class BaseHorizonMethod(enum.StrEnum):
    """How 1-day P&L becomes the 10-day base-horizon P&L."""

    OVERLAPPING = "overlapping"
    SQRT = "sqrt"


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise LiquidityHorizonError(f"{name} must be a number, got {value!r}", field=name)
    out = float(value)
    if not math.isfinite(out):
        raise LiquidityHorizonError(f"{name} must be finite, got {out!r}", field=name)
    return out


def liquidity_horizon_es(
    es_by_horizon: Sequence[float] | FloatArray,
    horizons: Sequence[int] = LIQUIDITY_HORIZONS,
    base_horizon: int = BASE_HORIZON,
) -> float:
    """MAR33.4 cascade of partial ES figures into one liquidity-adjusted ES.

    ``es_by_horizon[j]`` is the base-horizon ES with shocks only to the risk factors whose
    liquidity horizon is at least ``horizons[j]`` (``j = 0``: all factors). The first horizon
    must equal the base horizon T, and horizons must increase strictly.
    """
    t = check_horizon(base_horizon)
    lh = [check_horizon(h) for h in horizons]
    if not lh:
        raise LiquidityHorizonError("horizons: at least one horizon is needed", field="horizons")
    if lh[0] != t:
        raise LiquidityHorizonError(
            f"horizons: the first horizon ({lh[0]}) must equal the base horizon ({t})",
            field="horizons",
        )
    if any(b <= a for a, b in itertools.pairwise(lh)):
        raise LiquidityHorizonError(
            f"horizons must increase strictly, got {tuple(lh)}", field="horizons"
        )
    es = as_vector(es_by_horizon, field="es_by_horizon")
    if es.shape[0] != len(lh):
        raise LiquidityHorizonError(
            f"es_by_horizon has {es.shape[0]} values but there are {len(lh)} horizons",
            field="es_by_horizon",
        )
    scale = np.sqrt(np.diff(np.asarray(lh, dtype=np.float64)) / t)
    return float(math.sqrt(es[0] ** 2 + float(np.sum((es[1:] * scale) ** 2))))


def stressed_es(
    es_reduced_stressed: float,
    es_full_current: float,
    es_reduced_current: float,
    *,
    floor_ratio: bool = True,
) -> float:
    """MAR33.5 stressed ES: ES_R,S × ES_F,C / ES_R,C, the ratio floored at 1 unless told not to."""
    rs = _finite(es_reduced_stressed, "es_reduced_stressed")
    fc = _finite(es_full_current, "es_full_current")
    rc = _finite(es_reduced_current, "es_reduced_current")
    if rc <= 0.0:
        raise LiquidityHorizonError(
            f"es_reduced_current must be a positive loss to scale by, got {rc!r}",
            field="es_reduced_current",
        )
    ratio = fc / rc
    if floor_ratio:
        ratio = max(ratio, 1.0)
    return rs * ratio


@dataclass(frozen=True, slots=True)
class StressedWindow:
    """The worst window of the reduced factor set's ES: rows ``start`` to ``stop`` (exclusive).

    ``es_by_window[i]`` is the ES of the window starting at row ``i`` — the whole selection, so it
    can be reported and checked.
    """

    start: int
    stop: int
    es: float
    confidence: float
    es_by_window: FloatArray


def es_by_column(pnl: Any, confidence: float = FRTB_CONFIDENCE) -> FloatArray:
    """ES of each column of a P&L matrix (rows = scenarios): the Acerbi–Tasche estimator of
    :func:`~.quantile.expected_shortfall` for many books at once, by one partial sort."""
    c = check_confidence(confidence)
    losses = -as_matrix(pnl, field="pnl")
    n = losses.shape[0]
    check_sample_size(n, c, strict=False)
    k = var_rank(n, c)
    mass = n - round(c * n, RANK_DECIMALS)
    ordered = np.partition(losses, k - 1, axis=0)  # row k-1 is the VaR loss, rows after are worse
    boundary = ordered[k - 1]
    if mass <= 0.0:  # c·n rounds to n: ES tends to the worst loss, the VaR observation
        return np.asarray(boundary, dtype=np.float64)
    worst = ordered[k:].sum(axis=0)
    return np.asarray((worst + (mass - (n - k)) * boundary) / mass, dtype=np.float64)


#: Window-by-column cells partially sorted per block in :func:`rolling_es` (bounds memory).
_ROLLING_BLOCK_CELLS = 4_000_000


def rolling_es(pnl: Any, window: int, confidence: float = FRTB_CONFIDENCE) -> FloatArray:
    """ES of every ``window``-day window of each column of ``pnl`` (rows = days, oldest first):
    ``out[i, j]`` is the Acerbi–Tasche ES of rows ``i … i + window − 1`` of column ``j`` (a 1-D
    series gives a 1-D result). Partial sorts along each window, a block of columns at a time."""
    c = check_confidence(confidence)
    w = check_horizon(window)
    raw = np.asarray(pnl)
    series = raw.ndim == 1
    matrix = as_matrix(raw[:, None] if series else raw, field="pnl")
    if matrix.shape[0] < w:
        raise LiquidityHorizonError(
            f"pnl has {matrix.shape[0]} days, fewer than one {w}-day window", field="pnl"
        )
    check_sample_size(w, c, strict=False)
    k = var_rank(w, c)
    mass = w - round(c * w, RANK_DECIMALS)
    losses = np.ascontiguousarray(-matrix.T)  # columns x days: each window is contiguous
    windows = matrix.shape[0] - w + 1
    out = np.empty((windows, matrix.shape[1]))
    step = max(1, _ROLLING_BLOCK_CELLS // (windows * w))
    for j in range(0, matrix.shape[1], step):
        view = np.lib.stride_tricks.sliding_window_view(losses[j : j + step], w, axis=1)
        ordered = np.partition(view, k - 1, axis=-1)  # [..., k-1] is the VaR loss
        boundary = ordered[..., k - 1]
        es = (
            boundary
            if mass <= 0.0
            else (ordered[..., k:].sum(-1) + (mass - (w - k)) * boundary) / mass
        )
        out[:, j : j + step] = es.T
    return out[:, 0] if series else out


def stressed_window(
    pnl_history: Any, window: int = STRESS_WINDOW, confidence: float = FRTB_CONFIDENCE
) -> StressedWindow:
    """The ``window``-day period of ``pnl_history`` (reduced factor set, current book) with the
    highest ES; the first one on ties.
    """
    c = check_confidence(confidence)
    w = check_horizon(window)
    pnl = as_vector(pnl_history, field="pnl_history")
    if pnl.shape[0] < w:
        raise LiquidityHorizonError(
            f"pnl_history has {pnl.shape[0]} days, fewer than one {w}-day window",
            field="pnl_history",
        )
    es = rolling_es(pnl, w, c)
    start = int(np.argmax(es))
    return StressedWindow(start, start + w, float(es[start]), c, es)


def base_horizon_es(
    pnl: Any,
    confidence: float = FRTB_CONFIDENCE,
    base_horizon: int = BASE_HORIZON,
    method: str | BaseHorizonMethod = BaseHorizonMethod.OVERLAPPING,
) -> float:
    """Base-horizon ES from daily P&L: overlapping h-day sums (default) or √h × 1-day ES."""
    c = check_confidence(confidence)
    h = check_horizon(base_horizon)
    try:
        how = BaseHorizonMethod(method)
    except ValueError:
        raise LiquidityHorizonError(
            f"unknown base-horizon method {method!r}; choose overlapping or sqrt", field="method"
        ) from None
    daily = as_vector(pnl, field="pnl")
    if how is BaseHorizonMethod.SQRT:
        return math.sqrt(h) * expected_shortfall(daily, c)
    return expected_shortfall(overlapping_sums(daily, h), c)


@dataclass(frozen=True, slots=True)
class StressedES:
    """The stressed ES of a book and every figure behind it (MAR33.5).

    ``reduced_share`` = ES_R,C / ES_F,C: how much of the current full ES the reduced factor set
    explains (MAR33 expects at least 75 %).
    """

    reduced_factors: tuple[str, ...]
    window: StressedWindow
    es_reduced_stressed: float
    es_full_current: float
    es_reduced_current: float
    stressed_es: float
    reduced_share: float


@dataclass(frozen=True, slots=True)
class FRTBResult:
    """A book's FRTB ES: partial ES by liquidity horizon, the cascade, and the stressed ES."""

    confidence: float
    base_horizon: int
    method: str
    horizons: tuple[int, ...]
    es_by_horizon: tuple[float, ...]
    liquidity_adjusted_es: float
    liquidity_horizons: dict[str, int]
    observations: int
    current_observations: int
    stressed: StressedES | None


def _horizon_by_position(
    keys: tuple[str, ...], given: Any, horizons: tuple[int, ...]
) -> dict[str, int]:
    """Each position's liquidity horizon (default: the base horizon, the first one)."""
    given = {} if given is None else dict(given)
    unknown = sorted(set(given) - set(keys))
    if unknown:
        raise MissingSymbolError(
            f"liquidity_horizons names {unknown[0]!r}, which is not a position",
            field=f"liquidity_horizons.{unknown[0]}",
        )
    out: dict[str, int] = {}
    for key in keys:
        value = given.get(key, horizons[0])
        if isinstance(value, bool) or value not in horizons:
            raise LiquidityHorizonError(
                f"liquidity horizon of {key} must be one of {horizons}, got {value!r}",
                field=f"liquidity_horizons.{key}",
            )
        out[key] = int(value)
    return out


def frtb_es(
    positions: Any,
    returns: Any,
    liquidity_horizons: Any = None,
    *,
    reduced_factors: Sequence[str] | None = None,
    current_window: int = STRESS_WINDOW,
    stress_window: int = STRESS_WINDOW,
    horizons: Sequence[int] = LIQUIDITY_HORIZONS,
    base_horizon: int = BASE_HORIZON,
    method: str | BaseHorizonMethod = BaseHorizonMethod.OVERLAPPING,
    confidence: float = FRTB_CONFIDENCE,
) -> FRTBResult:
    """FRTB ES of a book: ES_j by liquidity horizon over the current period, their MAR33.4
    cascade, and — given a reduced factor set — the stressed ES over the worst window of the
    whole history.

    ``returns`` is the full available history (rows = days, oldest first); the current period is
    its last ``current_window`` days.
    """
    c = check_confidence(confidence)
    lh = tuple(check_horizon(h) for h in horizons)
    keys, weights, matrix = as_book(positions, returns)
    by_key = _horizon_by_position(keys, liquidity_horizons, lh)
    position_lh = np.array([by_key[k] for k in keys])
    current = matrix[-check_horizon(current_window) :]

    def cascade(book: FloatArray, rows: FloatArray) -> tuple[list[float], float]:
        partial = [
            base_horizon_es(rows @ np.where(position_lh >= h, book, 0.0), c, base_horizon, method)
            for h in lh
        ]
        return partial, liquidity_horizon_es(partial, lh, base_horizon)

    es_by_horizon, full_current = cascade(weights, current)
    stressed = None
    if reduced_factors is not None:
        names = [str(k) for k in reduced_factors]
        missing = [k for k in names if k not in keys]
        if missing or not names:
            raise MissingSymbolError(
                f"reduced_factors must name positions of the book, got {missing or names!r}",
                field="reduced_factors",
            )
        reduced = np.where(np.isin(np.array(keys), names), weights, 0.0)
        window = stressed_window(matrix @ reduced, stress_window, c)
        _, reduced_stressed = cascade(reduced, matrix[window.start : window.stop])
        _, reduced_current = cascade(reduced, current)
        stressed = StressedES(
            reduced_factors=tuple(names),
            window=window,
            es_reduced_stressed=reduced_stressed,
            es_full_current=full_current,
            es_reduced_current=reduced_current,
            stressed_es=stressed_es(reduced_stressed, full_current, reduced_current),
            reduced_share=reduced_current / full_current if full_current else math.nan,
        )
    return FRTBResult(
        confidence=c,
        base_horizon=base_horizon,
        method=BaseHorizonMethod(method).value,
        horizons=lh,
        es_by_horizon=tuple(es_by_horizon),
        liquidity_adjusted_es=full_current,
        liquidity_horizons=by_key,
        observations=int(matrix.shape[0]),
        current_observations=int(current.shape[0]),
        stressed=stressed,
    )


__all__ = [
    "BASE_HORIZON",
    "FRTB_CONFIDENCE",
    "LIQUIDITY_HORIZONS",
    "STRESS_WINDOW",
    "BaseHorizonMethod",
    "FRTBResult",
    "LiquidityHorizonError",
    "StressedES",
    "StressedWindow",
    "base_horizon_es",
    "es_by_column",
    "frtb_es",
    "liquidity_horizon_es",
    "rolling_es",
    "stressed_es",
    "stressed_window",
]
