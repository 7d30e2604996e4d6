"""Order statistics of scenario columns, and the fast leave-one-out VaRs built on them.

Historical incremental and standalone VaR need one default-convention quantile per position:
the ⌈c·n⌉-th smallest of a loss column. Done plainly that is a new T×N loss matrix and a
selection in every column, per request. Two exact shortcuts, each giving the very floats of the
plain computation (the plain one stays, in :mod:`.portfolio`, and the tests compare them):

* **standalone**: position i's loss in scenario t is fl(rₜ · (−wᵢ)), and rounding is monotone,
  so the k-th smallest of those losses is fl(r₍ⱼ₎ · (−wᵢ)) with r₍ⱼ₎ the j-th smallest return of
  the column, j = k for a short position and n − 1 − k for a long one. :class:`ColumnRanks`
  holds those two order statistics per column; they depend only on the scenarios and the rank,
  so a service computes them once per market-data snapshot and confidence, not per request.
* **incremental**: the book's losses without position i are fl(fl(rₜwᵢ) + Lₜ). Only the ``m``
  scenarios with the largest book losses L are formed and searched; every scenario left out has
  a loss without i of at most fl(dᵢ + L*) (dᵢ the column's largest fl(rₜwᵢ), from its extreme
  returns; L* the largest left-out book loss), again by monotone rounding. When that bound does
  not exceed the value found among the ``m``, it is the k-th smallest of all n; columns where it
  does (a position large enough to move a left-out scenario into the tail) are computed in full.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._typing import FloatArray, IntArray
from ._validation import var_rank

#: Scenarios searched by the incremental shortcut beyond twice the tail (n − k) rows.
CANDIDATE_MARGIN = 128
#: Rows of each column's largest and smallest returns that :class:`ColumnRanks` lists, so the
#: incremental search can include a position's own extreme days instead of bounding by them.
EXTREME_ROWS = 16


@dataclass(frozen=True)
class ColumnRanks:
    """Order statistics of each column of a T×N scenario matrix for one VaR rank.

    ``low[i]`` is column i's k-th smallest return, ``high[i]`` its (n − 1 − k)-th (0-based, k the
    default-convention VaR rank of ``confidence`` over ``observations`` scenarios); ``minimum``
    and ``maximum`` are its extremes. ``top_rows[:, i]`` are the rows of its q largest returns
    and ``below_top[i]`` the (q + 1)-th largest; ``bottom_rows`` and ``above_bottom`` the same
    for the smallest (q = ``top_rows.shape[0]``, :data:`EXTREME_ROWS` or fewer for short
    columns). Build it with :func:`column_ranks`; it is only valid for the matrix it was computed
    from (or, via :meth:`select`, for a selection of its columns).
    """

    observations: int
    confidence: float
    rank: int
    low: FloatArray
    high: FloatArray
    minimum: FloatArray
    maximum: FloatArray
    top_rows: IntArray
    bottom_rows: IntArray
    below_top: FloatArray
    above_bottom: FloatArray

    @property
    def columns(self) -> int:
        """How many columns the ranks describe."""
        return int(self.low.shape[0])

    def select(self, columns: IntArray) -> ColumnRanks:
        """The ranks of the given columns, in that order."""
        return ColumnRanks(
            self.observations,
            self.confidence,
            self.rank,
            self.low[columns],
            self.high[columns],
            self.minimum[columns],
            self.maximum[columns],
            self.top_rows[:, columns],
            self.bottom_rows[:, columns],
            self.below_top[columns],
            self.above_bottom[columns],
        )

    def matches(self, scenarios: FloatArray, confidence: float) -> bool:
        """Whether these ranks can describe ``scenarios`` at ``confidence`` (shape and rank)."""
        n, cols = scenarios.shape
        return (
            n == self.observations
            and cols == self.columns
            and var_rank(n, confidence) - 1 == self.rank
        )


def column_ranks(scenarios: FloatArray, confidence: float) -> ColumnRanks:
    """The :class:`ColumnRanks` of a finite T×N float matrix (scenarios in rows) at ``confidence``.

    Costs one index selection over the matrix (a T×N index array); ``scenarios`` is not
    modified.
    """
    n = scenarios.shape[0]
    k = var_rank(n, confidence) - 1
    q = max(0, min(EXTREME_ROWS, (n - 2) // 2))
    order = np.argpartition(scenarios, sorted({q, n - 1 - q, k, n - 1 - k}), axis=0)

    def at(row: int) -> FloatArray:
        return np.ascontiguousarray(np.take_along_axis(scenarios, order[row : row + 1], 0)[0])

    return ColumnRanks(
        observations=n,
        confidence=confidence,
        rank=k,
        low=at(k),
        high=at(n - 1 - k),
        minimum=np.asarray(scenarios.min(axis=0), dtype=np.float64),
        maximum=np.asarray(scenarios.max(axis=0), dtype=np.float64),
        top_rows=np.ascontiguousarray(order[n - q :]),
        bottom_rows=np.ascontiguousarray(order[:q]),
        below_top=at(n - 1 - q),
        above_bottom=at(q),
    )


def var_rank_index(n: int, confidence: float) -> int:
    """The 0-based rank of the default-convention VaR among n ascending losses (what
    :attr:`ColumnRanks.rank` holds)."""
    return var_rank(n, confidence) - 1


def standalone_var(
    weights: FloatArray, ranks: ColumnRanks, exact: Callable[[IntArray], FloatArray]
) -> FloatArray:
    """Each position's default-convention VaR on its own, from the ranks of its column.

    Equals the k-th smallest of fl(r · (−w)) over the column. Where that is a zero, which of the
    column's signed zeros the plain selection lands on is its own affair: ``exact(columns)``
    computes those columns (a zero weight, a zero return at the rank) the plain way.
    """
    short = -weights
    with np.errstate(over="ignore"):  # an overflow gives the same inf as the plain product
        out = np.where(short > 0.0, ranks.low * short, ranks.high * short)
    zero = np.flatnonzero(out == 0.0)
    if zero.size:
        out[zero] = exact(zero)
    return np.asarray(out, dtype=np.float64)


def standalone_var_in_place(
    series: FloatArray,
    weights: FloatArray,
    confidence: float,
    exact: Callable[[IntArray], FloatArray],
) -> FloatArray:
    """Each position's default-convention VaR on its own from ``series`` (N×T, row i the returns
    of position i, C order), which is **overwritten**: the caller gives it up.

    The same floats as :func:`standalone_var` without a copy of the returns: long rows are
    negated in place, so one selection at rank k in every row yields r₍ₖ₎ for a short position and
    −r₍ₙ₋₁₋ₖ₎ for a long one. ``exact(rows)`` computes the positions whose VaR is a zero (a zero
    weight, a zero return at the rank) the plain way, from the caller's own copy of the data.
    """
    if series.ndim != 2 or not series.flags.c_contiguous or series.shape[0] != weights.shape[0]:
        raise ValueError("series must be a C-ordered N x T matrix, one row per weight")
    k = var_rank(series.shape[1], confidence) - 1
    long = weights > 0.0
    np.negative(series, out=series, where=long[:, None])
    series.partition(k, axis=1)
    at = series[:, k]
    short = -weights
    with np.errstate(over="ignore"):  # an overflow gives the same inf as the plain product
        out = np.where(long, -at * short, at * short)
    zero = np.flatnonzero(out == 0.0)
    if zero.size:
        out[zero] = exact(zero)
    return np.asarray(out, dtype=np.float64)


def without_each_var(
    scenarios: FloatArray,
    weights: FloatArray,
    losses: FloatArray,
    confidence: float,
    *,
    ranks: ColumnRanks | None,
    exact: Callable[[IntArray], FloatArray],
) -> FloatArray:
    """Default-convention VaR of the book without each position: per column i, the k-th smallest
    of fl(fl(rₜwᵢ) + Lₜ) over the scenarios t, ``losses`` being L = −(scenarios @ weights).

    The search covers the ``m`` scenarios with the largest book losses and, with ``ranks``, each
    column's own q most extreme days on the side its sign makes losses of (a −inf stands in where
    such a day is already among the ``m``, so every column has m + q entries and one rank). The
    days left out are bounded by the largest fl(rₜwᵢ) among them: the (q + 1)-th extreme return
    with ``ranks``, else the column's extreme (computed here). ``exact`` computes the given columns
    the plain way, for the columns the bound cannot settle (and any whose value is a zero).
    """
    n, cols = scenarios.shape
    k = var_rank(n, confidence) - 1
    m = 2 * (n - k) + CANDIDATE_MARGIN
    if 2 * m > n or cols == 0:  # the shortcut would search most scenarios anyway
        return exact(np.arange(cols, dtype=np.intp))
    order = np.argpartition(losses, (n - m - 1, n - m))
    rows = np.sort(order[n - m :])  # ascending, so the gather walks memory forwards
    left_out_max = losses[order[n - m - 1]]
    part = np.multiply(scenarios[rows], weights)
    part += losses[rows, None]
    long = weights >= 0.0
    q = 0 if ranks is None else ranks.top_rows.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):  # inf values and bounds fail the test
        if ranks is not None and q:
            days = np.where(long, ranks.top_rows, ranks.bottom_rows)  # (q, cols)
            extra = np.multiply(scenarios[days, np.arange(cols)], weights)
            extra += losses[days]
            searched = np.zeros(n, dtype=bool)
            searched[rows] = True
            extra[searched[days]] = -np.inf  # already among the m
            part = np.concatenate((part, extra))
            largest = np.where(long, ranks.below_top * weights, ranks.above_bottom * weights)
        else:
            if ranks is not None:
                low, high = ranks.minimum, ranks.maximum
            else:
                low, high = scenarios.min(axis=0), scenarios.max(axis=0)
            largest = np.where(long, high * weights, low * weights)
        kk = k - (n - m) + q
        part.partition(kk, axis=0)
        out = np.array(part[kk], dtype=np.float64)
        # a zero's sign is the plain selection's affair, as in standalone_var
        settled = (largest + left_out_max <= out) & (out != 0.0)
    unsettled = np.flatnonzero(~settled)
    if unsettled.size:
        out[unsettled] = exact(unsettled)
    return out


__all__ = [
    "CANDIDATE_MARGIN",
    "EXTREME_ROWS",
    "ColumnRanks",
    "column_ranks",
    "standalone_var",
    "standalone_var_in_place",
    "var_rank_index",
    "without_each_var",
]
