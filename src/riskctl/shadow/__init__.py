"""Shadow comparison: the same pinned inputs to the stable and the new release, figure by figure.

This is the risk-aware gate: it catches "VaR came out 50 % higher" before anyone trades on it.
Besides the pinned golden set, a sample of recent real requests kept by the stable release is
replayed where it offers one.
"""

from riskctl.shadow.compare import (
    Answer,
    Difference,
    ShadowReport,
    Tolerance,
    compare_replay,
    compare_responses,
)
from riskctl.shadow.golden import GoldenSet, load_golden_set

__all__ = [
    "Answer",
    "Difference",
    "GoldenSet",
    "ShadowReport",
    "Tolerance",
    "compare_replay",
    "compare_responses",
    "load_golden_set",
]
