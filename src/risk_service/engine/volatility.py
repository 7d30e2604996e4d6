"""EWMA volatility (RiskMetrics) and filtered historical simulation.

RiskMetrics — Technical Document, 4th ed. (J.P. Morgan/Reuters, 1996), §5.2.1:
σ²ₜ = λ·σ²ₜ₋₁ + (1 − λ)·r²ₜ₋₁ with λ = 0.94 for daily data. The recursion is seeded with the
sample mean of r² (a backcast). Filtered historical simulation (Barone-Adesi, Giannopoulos &
Vosper, 1999) rescales each observation by σ_{T+1}/σₜ before taking the empirical quantile.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import signal

from ._typing import FloatArray
from ._validation import as_vector, check_confidence, check_sample_size
from .errors import RiskInputError
from .quantile import Convention, es_tail, tail_point

#: RiskMetrics decay factor for daily data.
RISKMETRICS_LAMBDA = 0.94


class DecayError(RiskInputError):
    """The EWMA decay factor is not in (0, 1)."""

    code = "invalid_decay"


def _check_decay(lam: float) -> float:
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not (0.0 < lam < 1.0):
        raise DecayError(f"EWMA decay factor must be between 0 and 1, got {lam!r}", field="lam")
    return float(lam)


def ewma_variance(returns: Any, lam: float = RISKMETRICS_LAMBDA) -> FloatArray:
    """EWMA variances σ²₀ … σ²ₙ for n returns; the last entry is the next-day forecast.

    σ²₀ is the sample mean of r² (backcast); σ²ₜ uses returns up to t − 1 only.
    """
    decay = _check_decay(lam)
    r = as_vector(returns, field="returns")
    squared = r * r
    seed = float(squared.mean())
    if seed == 0.0:
        return np.zeros(r.shape[0] + 1)
    out = np.empty(r.shape[0] + 1)
    out[0] = seed
    filtered, _ = signal.lfilter([1.0 - decay], [1.0, -decay], squared, zi=[decay * seed])
    out[1:] = filtered
    return out


def ewma_volatility(returns: Any, lam: float = RISKMETRICS_LAMBDA) -> FloatArray:
    """EWMA volatilities σ₀ … σₙ (square roots of :func:`ewma_variance`)."""
    return np.sqrt(ewma_variance(returns, lam))


def fhs_scale(pnl: FloatArray, lam: float = RISKMETRICS_LAMBDA) -> FloatArray:
    """Per-observation factors σ_{T+1}/σₜ that filtered historical simulation applies."""
    sigma = ewma_volatility(pnl, lam)
    current, past = sigma[-1], sigma[:-1]
    scale = np.ones_like(past)
    nonzero = past > 0.0
    scale[nonzero] = current / past[nonzero]
    return scale


def filtered_historical_var(
    pnl: Any,
    confidence: float = 0.99,
    lam: float = RISKMETRICS_LAMBDA,
    *,
    strict: bool = False,
) -> tuple[float, float]:
    """(VaR, ES) of a P&L series by filtered historical simulation with EWMA volatility."""
    c = check_confidence(confidence)
    x = as_vector(pnl, field="pnl")
    check_sample_size(x.shape[0], c, strict=strict)
    losses = -(x * fhs_scale(x, lam))
    var = tail_point(losses, c, Convention.DEFAULT).value
    tail = es_tail(losses, c)
    return var, float(losses[tail.indices] @ tail.weights)


__all__ = [
    "RISKMETRICS_LAMBDA",
    "DecayError",
    "ewma_variance",
    "ewma_volatility",
    "fhs_scale",
    "filtered_historical_var",
]
