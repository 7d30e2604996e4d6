"""The phases an analysis ends in (Argo Rollouts' names).

A module of its own, free of NumPy and the statistics: the rollout machine names these phases on
every decision, including ``riskctl abort``'s, which must not pay for importing the analysis
(issue 11, item 4). :mod:`riskctl.analysis.verdict` re-exports :class:`Phase`.
"""

from __future__ import annotations

import enum

__all__ = ["Phase"]


class Phase(enum.StrEnum):
    """Analysis phases (Argo Rollouts' names)."""

    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
