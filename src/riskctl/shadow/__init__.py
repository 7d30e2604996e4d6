"""Shadow comparison: the same pinned inputs to the stable and the new release, figure by figure.

This is the risk-aware gate: it catches "VaR came out 50 % higher" before anyone trades on it.
"""

from riskctl.shadow.compare import Difference, ShadowReport, Tolerance, compare_responses
from riskctl.shadow.golden import GoldenSet, load_golden_set

__all__ = [
    "Difference",
    "GoldenSet",
    "ShadowReport",
    "Tolerance",
    "compare_responses",
    "load_golden_set",
]
