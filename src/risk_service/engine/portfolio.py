"""Portfolio VaR and ES with their allocations.

Portfolio P&L in currency is Σᵢ positionᵢ × returnᵢ — one matrix–vector product, never
normalised by net notional, so long/short and zero-net books are handled like any other.

Allocations, each labelled for what it is (see :data:`ALLOCATION_LABELS`):

* **component** — Euler component VaR, summing to the portfolio VaR. Historical: the position's
  loss in the VaR scenario (optionally kernel-smoothed around it, Epperlein & Smillie 2006);
  parametric: z·wᵢ(Σw)ᵢ/σₚ (Jorion, *Value at Risk*, 3rd ed., §7.2).
* **component_es** — Euler component ES: the position's average loss over the ES tail.
* **marginal** — ∂VaR/∂wᵢ per unit of notional.
* **incremental** — VaR(book) − VaR(book without the position).
* **standalone** — VaR of the position on its own.

Historical incremental and standalone VaR take the exact shortcuts of :mod:`.ranks` (the same
floats as the plain per-column selections kept here, which they fall back to).

This module is over ~500 lines on purpose: the historical, parametric and Monte Carlo cores and
the one entry point share their private helpers and validation order; the shortcuts are apart.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, assert_never

import numpy as np

from ._typing import FloatArray, IntArray
from ._validation import (
    as_book,
    as_matrix,
    as_vector,
    check_confidence,
    check_sample_size,
    check_scenarios_finite,
)
from .distributions import unit_tail
from .errors import NonFiniteError, NotPSDError, RiskInputError, ShapeError
from .horizon import HorizonMethod, check_horizon, overlapping_sums
from .quantile import Convention, es_tail, numpy_method, parse_convention, tail_point
from .ranks import ColumnRanks, standalone_var, without_each_var
from .volatility import RISKMETRICS_LAMBDA, fhs_scale

ALLOCATION_LABELS: Mapping[str, str] = {
    "component": "Euler component VaR (sums to the portfolio VaR)",
    "component_es": "Euler component ES (sums to the portfolio ES)",
    "marginal": "marginal VaR: dVaR/d(notional), per unit of notional",
    "incremental": "incremental VaR: VaR(book) - VaR(book without the position)",
    "standalone": "standalone VaR: the position's own VaR",
}

#: Columns processed at once when a figure needs one quantile per position.
_CHUNK = 512


class Method(enum.StrEnum):
    """VaR methods."""

    HISTORICAL = "historical"
    PARAMETRIC = "parametric"
    MONTE_CARLO = "monte_carlo"
    FILTERED_HISTORICAL = "filtered_historical"


class MethodError(RiskInputError):
    """An unknown VaR method name."""

    code = "invalid_method"


def parse_method(method: str | Method) -> Method:
    """Return the :class:`Method` named ``method``, or raise listing the valid names."""
    try:
        return Method(method)
    except ValueError:
        names = ", ".join(m.value for m in Method)
        raise MethodError(
            f"unknown method {method!r}; choose one of: {names}", field="method"
        ) from None


@dataclass(frozen=True)
class PortfolioRisk:
    """VaR, ES and allocations of one book. Allocation mappings are keyed by position.

    ``incremental`` and ``standalone`` need one quantile per position, so they are computed on
    first access (and then kept); the object is immutable from the outside.
    """

    var: float
    es: float
    confidence: float
    method: str
    convention: str
    observations: int
    horizon_days: int
    keys: tuple[str, ...]
    component: Mapping[str, float]
    component_es: Mapping[str, float]
    marginal: Mapping[str, float]
    gross_notional: float
    net_notional: float
    _incremental: Callable[[], FloatArray] = field(repr=False, compare=False)
    _standalone: Callable[[], FloatArray] = field(repr=False, compare=False)

    @cached_property
    def incremental(self) -> Mapping[str, float]:
        """VaR(book) − VaR(book without the position), by position."""
        return _by_key(self.keys, self._incremental())

    @cached_property
    def standalone(self) -> Mapping[str, float]:
        """Each position's VaR on its own, by position."""
        return _by_key(self.keys, self._standalone())

    @property
    def labels(self) -> Mapping[str, str]:
        """What each allocation field means."""
        return ALLOCATION_LABELS


def _by_key(keys: tuple[str, ...], values: FloatArray) -> dict[str, float]:
    return dict(zip(keys, values.tolist(), strict=True))


def _check_result(var: float, es: float) -> None:
    """A silent NaN is a failure: refuse to return a non-finite figure (overflowing inputs)."""
    if not (math.isfinite(var) and math.isfinite(es)):
        raise NonFiniteError(
            "the computation overflowed to a non-finite VaR/ES; check the input magnitudes",
            field="returns",
        )


def _checked_pnl(weights: FloatArray, scenarios: FloatArray, keys: tuple[str, ...]) -> FloatArray:
    """P&L = scenarios @ weights, proving the scenarios finite at almost no extra cost.

    A NaN or inf in a column with a non-zero weight always makes some P&L non-finite, so only
    a non-finite P&L (to locate the culprit) and zero-weight columns need the full scan.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        pnl = np.asarray(scenarios @ weights, dtype=np.float64)
    if not np.isfinite(pnl).all():
        check_scenarios_finite(scenarios, keys)
        _check_result(math.inf, math.inf)
    zero = weights == 0.0
    if zero.any():
        check_scenarios_finite(
            scenarios[:, zero], [k for k, z in zip(keys, zero, strict=True) if z]
        )
    return pnl


# --- historical core -------------------------------------------------------------------------


def _column_var(
    losses: Callable[[Any], FloatArray],
    columns: int | IntArray,
    confidence: float,
    conv: Convention,
) -> FloatArray:
    """One VaR per column of a loss matrix produced in chunks (rows = scenarios): all ``columns``
    when it is a count (chunks are slices), else the listed columns (chunks are index arrays).

    ``losses`` returns a new array the caller owns: it is partitioned in place (no copy), and
    best laid out column by column (Fortran order) so each column's selection is contiguous.
    """
    n_cols = columns if isinstance(columns, int) else columns.shape[0]
    out = np.empty(n_cols)
    for start in range(0, n_cols, _CHUNK):
        at = slice(start, min(start + _CHUNK, n_cols))
        block = losses(at if isinstance(columns, int) else columns[at])
        n = block.shape[0]
        if conv is Convention.DEFAULT:
            k = max(1, math.ceil(round(confidence * n, 9))) - 1
            block.partition(k, axis=0)
            out[at] = block[k]
        else:
            out[at] = np.quantile(block, confidence, axis=0, method=numpy_method(conv))
    return out


def _kernel_marginal(
    scenarios: FloatArray, losses: FloatArray, var: float, fallback: FloatArray
) -> FloatArray:
    """E[−rᵢ | L ≈ VaR] with a Gaussian kernel (Silverman bandwidth), rescaled to sum to VaR.

    Falls back to the VaR-scenario marginal when the kernel average loss is too close to zero to
    rescale by.
    """
    n = losses.shape[0]
    spread = float(np.std(losses))
    bandwidth = 1.06 * spread * n ** (-0.2)
    if bandwidth == 0.0:
        return fallback
    kernel = np.exp(-0.5 * ((losses - var) / bandwidth) ** 2)
    kernel /= kernel.sum()
    marginal = -(kernel @ scenarios)
    smoothed_loss = float(kernel @ losses)
    if abs(smoothed_loss) <= 1e-12 * max(abs(var), spread):
        return fallback
    return np.asarray(marginal * (var / smoothed_loss), dtype=np.float64)


def historical_risk(
    weights: FloatArray,
    scenarios: FloatArray,
    confidence: float,
    *,
    keys: tuple[str, ...],
    convention: Convention = Convention.DEFAULT,
    smoothing: bool = False,
    method: str = Method.HISTORICAL.value,
    scale: float = 1.0,
    horizon_days: int = 1,
    pnl: FloatArray | None = None,
    ranks: ColumnRanks | None = None,
) -> PortfolioRisk:
    """Risk of P&L = scenarios @ weights (already validated); figures multiplied by ``scale``.

    ``pnl`` may pass in an already computed and checked ``scenarios @ weights``; ``ranks``, the
    :func:`~.ranks.column_ranks` of ``scenarios`` at ``confidence``, makes standalone VaR a
    lookup (default convention; other conventions ignore them).
    """
    if ranks is not None and not ranks.matches(scenarios, confidence):
        raise ValueError("the column ranks were not computed from these scenarios and confidence")
    if pnl is None:
        pnl = _checked_pnl(weights, scenarios, tuple(str(i) for i in range(weights.shape[0])))
    losses = -pnl
    point = tail_point(losses, confidence, convention)
    g = point.weight
    marginal = (
        -scenarios[point.lower]
        if g == 0.0
        else -((1.0 - g) * scenarios[point.lower] + g * scenarios[point.upper])
    )
    if smoothing:
        marginal = _kernel_marginal(scenarios, losses, point.value, marginal)
    tail = es_tail(losses, confidence)
    es = float(losses[tail.indices] @ tail.weights)
    _check_result(point.value * scale, es * scale)
    marginal_es = -(tail.weights @ scenarios[tail.indices])

    # Both build a new loss matrix per chunk of positions, column by column (order="F"), in
    # place; the values are the same floats as losses + rᵢwᵢ and −(rᵢwᵢ) computed plainly. With
    # the default convention both take exact shortcuts (see .ranks) that fall back to these.
    def without_block(cols: slice | IntArray) -> FloatArray:
        out = np.multiply(scenarios[:, cols], weights[cols], order="F")
        out += losses[:, None]
        return out

    def alone_block(cols: slice | IntArray) -> FloatArray:
        return np.multiply(scenarios[:, cols], -weights[cols], order="F")

    def incremental() -> FloatArray:
        if convention is Convention.DEFAULT:
            without = without_each_var(
                scenarios,
                weights,
                losses,
                confidence,
                ranks=ranks,
                exact=lambda cols: _column_var(without_block, cols, confidence, convention),
            )
        else:
            without = _column_var(without_block, weights.shape[0], confidence, convention)
        return np.asarray((point.value - without) * scale)

    def standalone() -> FloatArray:
        if ranks is not None and convention is Convention.DEFAULT:
            alone = standalone_var(
                weights, ranks, lambda cols: _column_var(alone_block, cols, confidence, convention)
            )
        else:
            alone = _column_var(alone_block, weights.shape[0], confidence, convention)
        return np.asarray(alone * scale)

    return PortfolioRisk(
        var=point.value * scale,
        es=es * scale,
        confidence=confidence,
        method=method,
        convention=convention.value,
        observations=scenarios.shape[0],
        horizon_days=horizon_days,
        keys=keys,
        component=_by_key(keys, weights * marginal * scale),
        component_es=_by_key(keys, weights * marginal_es * scale),
        marginal=_by_key(keys, marginal * scale),
        gross_notional=float(np.abs(weights).sum()),
        net_notional=float(weights.sum()),
        _incremental=incremental,
        _standalone=standalone,
    )


# --- parametric core -------------------------------------------------------------------------


def _parametric_risk(
    weights: FloatArray,
    sigma_w: FloatArray,
    diag: FloatArray,
    confidence: float,
    *,
    keys: tuple[str, ...],
    dof: float | None,
    observations: int,
    horizon_days: int,
    method: str = Method.PARAMETRIC.value,
) -> PortfolioRisk:
    """Variance–covariance risk from Σw and diag(Σ) (zero mean; scaled by √h)."""
    tail = unit_tail(confidence, dof)
    h = math.sqrt(horizon_days)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
        variance = max(float(weights @ sigma_w), 0.0)
    if not (math.isfinite(variance) and np.isfinite(sigma_w).all()):
        _check_result(math.inf, math.inf)
    sigma = math.sqrt(variance)
    if sigma > 0.0:
        marginal = tail.quantile * sigma_w / sigma
        marginal_es = tail.shortfall * sigma_w / sigma
    else:
        marginal = np.zeros_like(weights)
        marginal_es = np.zeros_like(weights)
    var = tail.quantile * sigma
    _check_result(var * h, tail.shortfall * sigma * h)

    def incremental() -> FloatArray:
        rest = variance - 2.0 * weights * sigma_w + weights * weights * diag
        return np.asarray((var - tail.quantile * np.sqrt(np.maximum(rest, 0.0))) * h)

    def standalone() -> FloatArray:
        return np.asarray(tail.quantile * np.abs(weights) * np.sqrt(np.maximum(diag, 0.0)) * h)

    label = "normal" if dof is None else f"student_t(dof={dof:g})"
    return PortfolioRisk(
        var=var * h,
        es=tail.shortfall * sigma * h,
        confidence=confidence,
        method=method,
        convention=label,
        observations=observations,
        horizon_days=horizon_days,
        keys=keys,
        component=_by_key(keys, weights * marginal * h),
        component_es=_by_key(keys, weights * marginal_es * h),
        marginal=_by_key(keys, marginal * h),
        gross_notional=float(np.abs(weights).sum()),
        net_notional=float(weights.sum()),
        _incremental=incremental,
        _standalone=standalone,
    )


def check_covariance(covariance: Any, n: int) -> FloatArray:
    """Return ``covariance`` as an n×n symmetric PSD float matrix, or raise naming the problem."""
    cov = as_matrix(covariance, field="covariance")
    if cov.shape != (n, n):
        raise ShapeError(
            f"covariance must be {n}x{n} for {n} positions, got {cov.shape[0]}x{cov.shape[1]}",
            field="covariance",
        )
    scale = max(float(np.abs(cov).max()), 1e-300)
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12 * scale):
        raise NotPSDError("covariance matrix is not symmetric", field="covariance")
    smallest = float(np.linalg.eigvalsh(cov)[0])
    if smallest < -1e-10 * scale:
        raise NotPSDError(
            f"covariance matrix is not positive semi-definite (smallest eigenvalue {smallest:.3g})",
            field="covariance",
        )
    return cov


def _keys_and_weights(positions: Any) -> tuple[tuple[str, ...], FloatArray]:
    if isinstance(positions, Mapping):
        keys = tuple(str(k) for k in positions)
        return keys, as_vector([positions[k] for k in positions], field="positions")
    weights = as_vector(positions, field="positions")
    return tuple(str(i) for i in range(weights.shape[0])), weights


def parametric_var(
    positions: Any,
    covariance: Any,
    confidence: float = 0.99,
    *,
    dof: float | None = None,
    horizon_days: int = 1,
) -> PortfolioRisk:
    """Variance–covariance VaR of a book from a covariance matrix of returns (zero mean).

    ``positions`` is a mapping (its order gives the covariance's row order) or a vector.
    ``dof`` selects a unit-variance Student-t instead of the normal.
    """
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    keys, weights = _keys_and_weights(positions)
    cov = check_covariance(covariance, weights.shape[0])
    return _parametric_risk(
        weights,
        cov @ weights,
        np.diag(cov).copy(),
        c,
        keys=keys,
        dof=dof,
        observations=0,
        horizon_days=h,
    )


# --- Monte Carlo -----------------------------------------------------------------------------


def simulate_scenarios(
    factor: FloatArray, simulations: int, seed: int, dof: float | None
) -> FloatArray:
    """Draw ``simulations`` scenarios Z·factor (Z standard normal, or unit-variance t)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((simulations, factor.shape[0]))
    if dof is not None:
        unit_tail(0.5, dof)  # validates dof > 2
        chi = rng.chisquare(dof, size=(simulations, 1))
        z *= np.sqrt((dof - 2.0) / chi)
    return np.asarray(z @ factor, dtype=np.float64)


def covariance_factor(cov: FloatArray) -> FloatArray:
    """A matrix A with AᵀA = Σ, for a PSD (possibly singular) Σ, via the eigen-decomposition."""
    values, vectors = np.linalg.eigh(cov)
    return np.asarray((vectors * np.sqrt(np.maximum(values, 0.0))).T, dtype=np.float64)


def monte_carlo_var(
    positions: Any,
    covariance: Any,
    confidence: float = 0.99,
    *,
    simulations: int = 10_000,
    seed: int = 0,
    dof: float | None = None,
    horizon_days: int = 1,
) -> PortfolioRisk:
    """Monte Carlo VaR: seeded scenarios from N(0, Σ) (or a unit-variance t), then historical."""
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    keys, weights = _keys_and_weights(positions)
    cov = check_covariance(covariance, weights.shape[0])
    sims = _check_simulations(simulations)
    check_sample_size(sims, c, strict=False)
    scenarios = simulate_scenarios(covariance_factor(cov), sims, seed, dof)
    return historical_risk(
        weights,
        scenarios,
        c,
        keys=keys,
        method=Method.MONTE_CARLO.value,
        scale=math.sqrt(h),
        horizon_days=h,
    )


def _check_simulations(simulations: object) -> int:
    if isinstance(simulations, bool) or not isinstance(simulations, int) or simulations < 1:
        raise RiskInputError(
            f"simulations must be a positive whole number, got {simulations!r}",
            field="simulations",
        )
    return simulations


# --- the one entry point ---------------------------------------------------------------------


def portfolio_var(
    positions: Any,
    returns: Any,
    confidence: float = 0.99,
    method: str | Method = "historical",
    *,
    horizon_days: int = 1,
    horizon_method: str | HorizonMethod = "sqrt",
    convention: str | Convention = "default",
    smoothing: bool = False,
    dof: float | None = None,
    simulations: int = 10_000,
    seed: int = 0,
    lam: float = RISKMETRICS_LAMBDA,
    strict: bool = False,
    ranks: ColumnRanks | None = None,
) -> PortfolioRisk:
    """VaR, ES and allocations of a book of positions (currency notionals) over return scenarios.

    ``positions``: mapping symbol → notional, or a vector. ``returns``: mapping symbol → series
    (aligned, equal lengths), or a T×N matrix. ``method``: historical, parametric (normal, or
    Student-t with ``dof``), monte_carlo (seeded) or filtered_historical (EWMA, λ = ``lam``).
    ``horizon_days`` > 1 scales by √h, or (historical only) uses overlapping h-day sums.
    ``ranks``: the :func:`~.ranks.column_ranks` of ``returns`` (as a matrix) at ``confidence``,
    kept by a caller that asks about the same scenarios again; used by the historical method
    over the given scenarios (ignored when they are transformed: FHS, overlapping sums).
    """
    c = check_confidence(confidence)
    meth = parse_method(method)
    h = check_horizon(horizon_days)
    try:
        hmethod = HorizonMethod(horizon_method)
    except ValueError:
        raise RiskInputError(
            f"unknown horizon_method {horizon_method!r}; choose sqrt or overlapping",
            field="horizon_method",
        ) from None
    conv = parse_convention(convention)
    keys, weights, scenarios = as_book(positions, returns, check_finite=False)
    pnl: FloatArray | None = _checked_pnl(weights, scenarios, keys)
    if hmethod is HorizonMethod.OVERLAPPING and h > 1:
        if meth is not Method.HISTORICAL:
            raise RiskInputError(
                "overlapping h-day scenarios apply to the historical method only",
                field="horizon_method",
            )
        scenarios = overlapping_sums(scenarios, h)
        pnl = None
        scale = 1.0
        ranks = None
    else:
        scale = math.sqrt(h)

    if meth is Method.HISTORICAL:
        check_sample_size(scenarios.shape[0], c, strict=strict)
        return historical_risk(
            weights,
            scenarios,
            c,
            keys=keys,
            convention=conv,
            smoothing=smoothing,
            scale=scale,
            horizon_days=h,
            pnl=pnl,
            ranks=ranks,
        )
    if meth is Method.FILTERED_HISTORICAL:
        check_sample_size(scenarios.shape[0], c, strict=strict)
        factors = fhs_scale(scenarios @ weights if pnl is None else pnl, lam)
        return historical_risk(
            weights,
            scenarios * factors[:, None],
            c,
            keys=keys,
            convention=conv,
            smoothing=smoothing,
            method=meth.value,
            scale=scale,
            horizon_days=h,
        )
    if scenarios.shape[0] < 2:
        raise RiskInputError(
            f"{meth.value} VaR needs at least 2 observations to estimate a covariance",
            field="returns",
        )
    centred = scenarios - scenarios.mean(axis=0)
    dof_scale = 1.0 / (scenarios.shape[0] - 1)
    if meth is Method.PARAMETRIC:
        # Σw and diag(Σ) straight from the data: never forms the N×N covariance.
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported later
            sigma_w = (centred.T @ (centred @ weights)) * dof_scale
        diag = np.einsum("ij,ij->j", centred, centred) * dof_scale
        return _parametric_risk(
            weights,
            sigma_w,
            diag,
            c,
            keys=keys,
            dof=dof,
            observations=scenarios.shape[0],
            horizon_days=h,
        )
    if meth is Method.MONTE_CARLO:
        sims = _check_simulations(simulations)
        check_sample_size(sims, c, strict=strict)
        n_obs, n_pos = centred.shape
        # The cheaper square-root of Σ: its eigen-factor, or the scaled data itself when there
        # are more positions than observations (Z·Xc/√(T−1) has covariance Σ).
        if n_pos <= n_obs:
            factor = covariance_factor((centred.T @ centred) * dof_scale)
        else:
            factor = centred * math.sqrt(dof_scale)
        simulated = simulate_scenarios(factor, sims, seed, dof)
        return historical_risk(
            weights,
            simulated,
            c,
            keys=keys,
            method=meth.value,
            scale=scale,
            horizon_days=h,
        )
    assert_never(meth)


__all__ = [
    "ALLOCATION_LABELS",
    "Method",
    "MethodError",
    "PortfolioRisk",
    "check_covariance",
    "covariance_factor",
    "historical_risk",
    "monte_carlo_var",
    "parametric_var",
    "parse_method",
    "portfolio_var",
    "simulate_scenarios",
]
