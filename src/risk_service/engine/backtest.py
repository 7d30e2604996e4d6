"""VaR backtests: exceptions, Kupiec POF, Christoffersen independence and conditional coverage,
and the Basel traffic light.

* Kupiec (1995), "Techniques for verifying the accuracy of risk measurement models",
  *Journal of Derivatives* 3(2):
  LR_POF = −2 ln[(1−p)^{T−x} pˣ] + 2 ln[(1−x/T)^{T−x} (x/T)ˣ] ~ χ²(1).
* Christoffersen (1998), "Evaluating interval forecasts", *International Economic Review* 39(4):
  LR_ind from the first-order Markov transition counts ~ χ²(1); LR_cc = LR_POF + LR_ind ~ χ²(2).
* BCBS (1996), "Supervisory framework for the use of backtesting in conjunction with the
  internal models approach to market risk capital requirements", Table 2: a zone is set by the
  cumulative binomial probability of the exception count — green below 95 %, yellow below
  99.99 %, red from 99.99 % (250 days at 99 %: green 0–4, yellow 5–9, red 10+).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ._typing import BoolArray
from ._validation import as_vector, check_confidence
from .errors import LengthMismatchError, RiskInputError

#: Cumulative-probability bounds of the Basel zones (BCBS 1996, Table 2).
GREEN_BOUND = 0.95
YELLOW_BOUND = 0.9999


class Zone(enum.StrEnum):
    """Basel traffic-light zones."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True, slots=True)
class TestResult:
    """A likelihood-ratio test: statistic and its χ² p-value."""

    __test__ = False  # not a pytest test class

    statistic: float
    p_value: float
    exceptions: int
    observations: int


@dataclass(frozen=True, slots=True)
class ChristoffersenResult:
    """Christoffersen's independence and conditional-coverage tests."""

    lr_ind: float
    lr_cc: float
    p_value_ind: float
    p_value_cc: float
    lr_pof: float
    transitions: tuple[int, int, int, int]  # n00, n01, n10, n11


def _xlogy(x: float, y: float) -> float:
    """x·ln(y) with 0·ln(0) = 0."""
    return 0.0 if x == 0.0 else x * math.log(y)


def _bernoulli_loglik(failures: float, successes: float, p: float) -> float:
    """ln[(1 − p)^successes · p^failures] with 0·ln 0 = 0."""
    return _xlogy(successes, 1.0 - p) + _xlogy(failures, p)


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise RiskInputError(f"{name} must be a whole number >= 0, got {value!r}", field=name)
    return int(value)


def exceptions(pnl: Any, var: Any) -> BoolArray:
    """Days whose loss exceeds the VaR forecast for that day (loss > VaR, strictly)."""
    p = as_vector(pnl, field="pnl")
    v = as_vector(var, field="var")
    if p.shape != v.shape:
        raise LengthMismatchError(
            f"pnl has {p.shape[0]} days but var has {v.shape[0]}; they must be aligned",
            field="var",
        )
    return np.asarray(-p > v)


def kupiec_pof(exceptions: int, observations: int, confidence: float = 0.99) -> TestResult:
    """Kupiec's proportion-of-failures likelihood-ratio test (χ² with 1 degree of freedom)."""
    c = check_confidence(confidence)
    x = _check_count(exceptions, "exceptions")
    t = _check_count(observations, "observations")
    if t == 0:
        raise RiskInputError("observations must be at least 1", field="observations")
    if x > t:
        raise RiskInputError(
            f"exceptions ({x}) cannot exceed observations ({t})", field="exceptions"
        )
    p = 1.0 - c
    lr = -2.0 * (_bernoulli_loglik(x, t - x, p) - _bernoulli_loglik(x, t - x, x / t))
    lr = max(lr, 0.0) + 0.0  # never -0.0
    return TestResult(lr, float(stats.chi2.sf(lr, 1)), x, t)


def christoffersen(hits: Any, confidence: float = 0.99) -> ChristoffersenResult:
    """Christoffersen's independence (LR_ind) and conditional coverage (LR_cc) tests."""
    c = check_confidence(confidence)
    raw = np.asarray(hits)
    h = as_vector(raw.astype(np.float64) if raw.dtype == np.bool_ else hits, field="hits")
    if not np.isin(h, (0.0, 1.0)).all():
        raise RiskInputError("hits must be a series of 0/1 (or booleans)", field="hits")
    if h.shape[0] < 2:
        raise RiskInputError("hits needs at least 2 days to count transitions", field="hits")
    prev, curr = h[:-1].astype(bool), h[1:].astype(bool)
    n00 = int(np.count_nonzero(~prev & ~curr))
    n01 = int(np.count_nonzero(~prev & curr))
    n10 = int(np.count_nonzero(prev & ~curr))
    n11 = int(np.count_nonzero(prev & curr))
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    restricted = _bernoulli_loglik(n01 + n11, n00 + n10, pi)
    unrestricted = _bernoulli_loglik(n01, n00, pi01) + _bernoulli_loglik(n11, n10, pi11)
    lr_ind = max(-2.0 * (restricted - unrestricted), 0.0) + 0.0  # never -0.0
    pof = kupiec_pof(int(h.sum()), h.shape[0], c)
    lr_cc = pof.statistic + lr_ind
    return ChristoffersenResult(
        lr_ind=lr_ind,
        lr_cc=lr_cc,
        p_value_ind=float(stats.chi2.sf(lr_ind, 1)),
        p_value_cc=float(stats.chi2.sf(lr_cc, 2)),
        lr_pof=pof.statistic,
        transitions=(n00, n01, n10, n11),
    )


def traffic_light(exceptions: int, observations: int = 250, confidence: float = 0.99) -> str:
    """Basel zone ("green", "yellow" or "red") of an exception count."""
    c = check_confidence(confidence)
    x = _check_count(exceptions, "exceptions")
    t = _check_count(observations, "observations")
    if x > t:
        raise RiskInputError(
            f"exceptions ({x}) cannot exceed observations ({t})", field="exceptions"
        )
    cumulative = float(stats.binom.cdf(x, t, 1.0 - c))
    if cumulative < GREEN_BOUND:
        return Zone.GREEN.value
    if cumulative < YELLOW_BOUND:
        return Zone.YELLOW.value
    return Zone.RED.value


__all__ = [
    "GREEN_BOUND",
    "YELLOW_BOUND",
    "ChristoffersenResult",
    "TestResult",
    "Zone",
    "christoffersen",
    "exceptions",
    "kupiec_pof",
    "traffic_light",
]
