"""Expected-shortfall backtests (Acerbi & Székely 2014) and FRTB desk-level exception counts.

* Acerbi, C. and Székely, B. (2014), "Backtesting expected shortfall", *Risk*, December. With P&L
  X_t (gain positive), VaR_t and ES_t positive losses forecast for day t, I_t = 1{X_t + VaR_t < 0}
  and N = Σ I_t:

  - Z1 = Σ X_t·I_t / (N·ES_t) + 1 (ES given the VaR exceptions; undefined when N = 0),
  - Z2 = Σ X_t·I_t / (T·α·ES_t) + 1 (VaR and ES jointly).

  E[Z] = 0 under H0 (the forecasts are right); negative values mean risk is underestimated, so the
  test is one-sided: p = P(Z ≤ z_observed | H0). The paper simulates the null; so do we. Each day's
  P&L is drawn from a location–scale law (normal, or Student-t with ``df``) whose location and
  scale make its VaR and ES at α equal the forecast VaR_t and ES_t exactly, and the p-value is
  (1 + #{simulated Z ≤ observed}) / (1 + simulations), never 0. The statistics themselves assume
  no distribution; the p-values depend on the chosen null family (the paper reports Z2's critical
  values as nearly independent of it). Seeded: the same inputs give the same p-value.
* BCBS MAR32 desk-level backtesting: a desk whose last 250 business days show more than 12
  exceptions of its 99 % VaR, or more than 30 of its 97.5 % VaR, loses internal-model eligibility.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import numpy as np
from scipy import stats

from ._typing import FloatArray
from ._validation import as_vector, check_confidence
from .backtest import exceptions
from .errors import LengthMismatchError, RiskInputError

#: MAR32 desk-level limits: more exceptions than these in 250 days fail the desk.
DESK_EXCEPTION_LIMIT_99 = 12
DESK_EXCEPTION_LIMIT_975 = 30
DESK_OBSERVATIONS = 250
#: Default number of null simulations for the Z-test p-values.
DEFAULT_SIMULATIONS = 10_000
_CHUNK = 2_000  # simulated paths per block, so memory stays bounded for long histories


class NullFamily(enum.StrEnum):
    """Distribution family of the simulated null hypothesis."""

    NORMAL = "normal"
    STUDENT_T = "t"


@dataclass(frozen=True, slots=True)
class ZTestResult:
    """An Acerbi–Székely test: the statistic, its simulated one-sided p-value, and the counts."""

    statistic: float
    p_value: float
    exceptions: int
    observations: int
    simulations: int
    null: str


@dataclass(frozen=True, slots=True)
class DeskBacktest:
    """MAR32 desk-level backtest: exception counts at 99 % and 97.5 % against their limits."""

    exceptions_99: int
    exceptions_975: int
    observations: int
    limit_99: int = DESK_EXCEPTION_LIMIT_99
    limit_975: int = DESK_EXCEPTION_LIMIT_975

    @property
    def eligible(self) -> bool:
        """The desk keeps the internal model: neither count is above its limit."""
        return self.exceptions_99 <= self.limit_99 and self.exceptions_975 <= self.limit_975


def _standard_tail(family: NullFamily, df: float, alpha: float) -> tuple[float, float]:
    """Quantile q and tail mean e = E[Y | Y > q] of the standard law at level 1 − α."""
    if family is NullFamily.NORMAL:
        q = float(stats.norm.ppf(1.0 - alpha))
        return q, float(stats.norm.pdf(q)) / alpha
    q = float(stats.t.ppf(1.0 - alpha, df))
    return q, (df + q * q) / (df - 1.0) * float(stats.t.pdf(q, df)) / alpha


def _check_df(family: NullFamily, df: object) -> float:
    if family is NullFamily.NORMAL:
        return math.inf
    if isinstance(df, bool) or not isinstance(df, (int, float)) or not df > 1.0:
        raise RiskInputError(
            f"df must be a number > 1 for a Student-t null (ES must exist), got {df!r}",
            field="df",
        )
    return float(df)


def _check_alpha(alpha: object) -> float:
    """α, the tail probability (1 − confidence), as a float in (0, 1)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise RiskInputError(
            f"alpha must be a tail probability between 0 and 1, got {alpha!r}", field="alpha"
        )
    return float(alpha)


def _check_simulations(simulations: object) -> int:
    if isinstance(simulations, bool) or not isinstance(simulations, int) or simulations < 100:
        raise RiskInputError(
            f"simulations must be a whole number >= 100, got {simulations!r}",
            field="simulations",
        )
    return simulations


def _inputs(pnl: Any, var: Any, es: Any) -> tuple[FloatArray, FloatArray, FloatArray]:
    x = as_vector(pnl, field="pnl")
    v = as_vector(var, field="var")
    e = as_vector(es, field="es")
    for name, arr in (("var", v), ("es", e)):
        if arr.shape != x.shape:
            raise LengthMismatchError(
                f"pnl has {x.shape[0]} days but {name} has {arr.shape[0]}; they must be aligned",
                field=name,
            )
    if not (e > 0.0).all():
        day = int(np.flatnonzero(e <= 0.0)[0])
        raise RiskInputError(f"es must be a positive loss every day (day {day})", field="es")
    if not (e >= v).all():
        day = int(np.flatnonzero(e < v)[0])
        raise RiskInputError(f"es must be at least var every day (day {day})", field="es")
    return x, v, e


def _z1(x: FloatArray, hits: FloatArray, e: FloatArray) -> FloatArray:
    """Z1 along the last axis; NaN where a path has no exception."""
    n = hits.sum(axis=-1)
    total = (x * hits / e).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(n > 0, total / n + 1.0, np.nan), dtype=np.float64)


def _z2(x: FloatArray, hits: FloatArray, e: FloatArray, alpha: float) -> FloatArray:
    t = x.shape[-1]
    return np.asarray((x * hits / e).sum(axis=-1) / (t * alpha) + 1.0, dtype=np.float64)


def _simulate(
    v: FloatArray,
    e: FloatArray,
    *,
    alpha: float,
    family: NullFamily,
    df: float,
    simulations: int,
    seed: int,
    statistic: str,
) -> FloatArray:
    """Null draws of Z1 or Z2 for forecasts (v, e), in blocks of paths."""
    q, tail = _standard_tail(family, df, alpha)
    scale = (e - v) / (tail - q)  # loss = m + s·Y with VaR = m + s·q and ES = m + s·tail
    loc = v - scale * q
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, simulations, _CHUNK):
        m = min(_CHUNK, simulations - start)
        shape = (m, v.shape[0])
        y = rng.standard_normal(shape) if family is NullFamily.NORMAL else rng.standard_t(df, shape)
        x = -(loc + scale * y)
        hits = (x + v < 0.0).astype(np.float64)
        out.append(_z1(x, hits, e) if statistic == "z1" else _z2(x, hits, e, alpha))
    return np.concatenate(out)


def _p_value(simulated: FloatArray, observed: float) -> float:
    finite = simulated[np.isfinite(simulated)]
    return float((1 + np.count_nonzero(finite <= observed)) / (1 + finite.shape[0]))


class ZTestOptions(TypedDict, total=False):
    """Options of the Z tests: null simulations (≥ 100), their seed, the null family ("normal"
    or "t") and the Student-t degrees of freedom (> 1)."""

    simulations: int
    seed: int
    null: str
    df: float


def _test(
    statistic: str,
    pnl: Any,
    var: Any,
    es: Any,
    *,
    alpha: float,
    simulations: int = DEFAULT_SIMULATIONS,
    seed: int = 0,
    null: str = "normal",
    df: float = 5.0,
) -> ZTestResult:
    level = _check_alpha(alpha)
    try:
        family = NullFamily(null)
    except ValueError:
        raise RiskInputError(
            f"unknown null family {null!r}; choose normal or t", field="null"
        ) from None
    dof = _check_df(family, df)
    n_sims = _check_simulations(simulations)
    x, v, e = _inputs(pnl, var, es)
    hits = (x + v < 0.0).astype(np.float64)
    observed = float(_z1(x, hits, e) if statistic == "z1" else _z2(x, hits, e, level))
    exc = int(hits.sum())
    label = family.value if family is NullFamily.NORMAL else f"t({dof:g})"
    if not math.isfinite(observed):  # Z1 with no exception: nothing to test
        return ZTestResult(math.nan, math.nan, exc, x.shape[0], n_sims, label)
    simulated = _simulate(
        v,
        e,
        alpha=level,
        family=family,
        df=dof,
        simulations=n_sims,
        seed=seed,
        statistic=statistic,
    )
    return ZTestResult(observed, _p_value(simulated, observed), exc, x.shape[0], n_sims, label)


def acerbi_szekely_z1(
    pnl: Any, var: Any, es: Any, alpha: float = 0.025, **options: Unpack[ZTestOptions]
) -> ZTestResult:
    """Acerbi–Székely Z1 (ES given the VaR exceptions); NaN statistic and p-value with none."""
    return _test("z1", pnl, var, es, alpha=alpha, **options)


def acerbi_szekely_z2(
    pnl: Any, var: Any, es: Any, alpha: float = 0.025, **options: Unpack[ZTestOptions]
) -> ZTestResult:
    """Acerbi–Székely Z2 = Σ X_t·1{X_t + VaR_t < 0} / (T·α·ES_t) + 1 with a simulated p-value."""
    return _test("z2", pnl, var, es, alpha=alpha, **options)


def z2_critical_value(
    significance: float,
    observations: int = DESK_OBSERVATIONS,
    alpha: float = 0.025,
    *,
    simulations: int = 100_000,
    seed: int = 0,
    null: str = "normal",
    df: float = 5.0,
) -> float:
    """The ``significance`` quantile of Z2 under H0 for zero-mean P&L (the paper's setting).

    With zero-mean location–scale P&L and constant forecasts, Z2 does not depend on the scale, so
    the critical value depends only on T, α and the null family.
    """
    sig = check_confidence(significance, field="significance")
    if isinstance(observations, bool) or not isinstance(observations, int) or observations < 1:
        raise RiskInputError(
            f"observations must be a whole number >= 1, got {observations!r}",
            field="observations",
        )
    level = _check_alpha(alpha)
    try:
        family = NullFamily(null)
    except ValueError:
        raise RiskInputError(
            f"unknown null family {null!r}; choose normal or t", field="null"
        ) from None
    dof = _check_df(family, df)
    q, tail = _standard_tail(family, dof, level)
    v = np.full(observations, q)
    e = np.full(observations, tail)
    simulated = _simulate(
        v,
        e,
        alpha=level,
        family=family,
        df=dof,
        simulations=_check_simulations(simulations),
        seed=seed,
        statistic="z2",
    )
    return float(np.quantile(simulated, sig))


def desk_backtest(pnl: Any, var_99: Any, var_975: Any) -> DeskBacktest:
    """MAR32 desk-level exception counts of the last 250 days at 99 % and 97.5 % VaR."""
    x = as_vector(pnl, field="pnl")
    hits_99 = exceptions(x, var_99)
    hits_975 = exceptions(x, var_975)
    tail = slice(-DESK_OBSERVATIONS, None)
    return DeskBacktest(
        exceptions_99=int(hits_99[tail].sum()),
        exceptions_975=int(hits_975[tail].sum()),
        observations=int(hits_99[tail].shape[0]),
    )


__all__ = [
    "DEFAULT_SIMULATIONS",
    "DESK_EXCEPTION_LIMIT_99",
    "DESK_EXCEPTION_LIMIT_975",
    "DESK_OBSERVATIONS",
    "DeskBacktest",
    "NullFamily",
    "ZTestOptions",
    "ZTestResult",
    "acerbi_szekely_z1",
    "acerbi_szekely_z2",
    "desk_backtest",
    "z2_critical_value",
]
