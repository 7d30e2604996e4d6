"""FRTB P&L attribution (PLA) test (BCBS MAR32): hypothetical vs risk-theoretical P&L.

Two metrics over the desk's daily HPL and RTPL (MAR32 uses the last 250 business days):

* the Spearman rank correlation of HPL and RTPL (MAR32.38), scipy's ``spearmanr``;
* the Kolmogorov–Smirnov distance between their empirical distributions (MAR32.41), scipy's
  ``ks_2samp`` (the two-sample statistic sup |F_HPL − F_RTPL|).

Zones (MAR32.42 — the thresholds are the text's; the paragraph numbers 32.38 and 32.41 are
those ActiveViam's FRTB documentation cites, 32.42 for the zones was not checked against the BCBS
text itself):

* green: Spearman above 0.80 **and** KS below 0.09 (KS p-value 0.264);
* red: Spearman below 0.70 **or** KS above 0.12 (KS p-value 0.055);
* amber: everything else — including a metric exactly at a threshold, since the text's
  inequalities are strict both ways.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ._validation import as_vector
from .errors import LengthMismatchError, RiskInputError

#: MAR32.42 thresholds.
SPEARMAN_GREEN = 0.80
SPEARMAN_RED = 0.70
KS_GREEN = 0.09
KS_RED = 0.12


class PLAZone(enum.StrEnum):
    """PLA test zones."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True, slots=True)
class PLAResult:
    """PLA metrics and the desk's zone."""

    spearman: float
    ks: float
    ks_p_value: float
    zone: str
    observations: int


def pla_zone(spearman: float, ks: float) -> str:
    """The MAR32.42 zone of a (Spearman, KS) pair."""
    for name, value in (("spearman", spearman), ("ks", ks)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise RiskInputError(f"{name} must be a number, got {value!r}", field=name)
    if spearman < SPEARMAN_RED or ks > KS_RED:
        return PLAZone.RED.value
    if spearman > SPEARMAN_GREEN and ks < KS_GREEN:
        return PLAZone.GREEN.value
    return PLAZone.AMBER.value


def pla_test(hpl: Any, rtpl: Any) -> PLAResult:
    """Spearman correlation and KS distance of ``rtpl`` against ``hpl``, and their zone."""
    h = as_vector(hpl, field="hpl")
    r = as_vector(rtpl, field="rtpl")
    if h.shape != r.shape:
        raise LengthMismatchError(
            f"hpl has {h.shape[0]} days but rtpl has {r.shape[0]}; they must be aligned",
            field="rtpl",
        )
    if h.shape[0] < 3:
        raise RiskInputError("the PLA test needs at least 3 days of P&L", field="hpl")
    for name, arr in (("hpl", h), ("rtpl", r)):
        if np.ptp(arr) == 0.0:  # a constant series has no ranks to correlate
            raise RiskInputError(
                f"{name} is constant; its rank correlation is undefined", field=name
            )
    rho = float(stats.spearmanr(h, r).statistic)
    ks = stats.ks_2samp(h, r)
    distance = float(ks.statistic)
    return PLAResult(rho, distance, float(ks.pvalue), pla_zone(rho, distance), h.shape[0])


__all__ = [
    "KS_GREEN",
    "KS_RED",
    "SPEARMAN_GREEN",
    "SPEARMAN_RED",
    "PLAResult",
    "PLAZone",
    "pla_test",
    "pla_zone",
]
