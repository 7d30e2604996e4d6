"""Rollouts: the canary / blue-green / recreate state machine and its executor.

:mod:`riskctl.rollout.machine` is pure — ``(state, event) -> (new state, actions)`` — and is
tested with literal inputs, the way Argo Rollouts tests its reconciler. The executor persists the
new desired state *before* it acts, and every action is idempotent, so a controller killed at
any point resumes or safely reverts when it runs again.
"""

from riskctl.rollout.machine import (
    Abort,
    Action,
    AnalysisDone,
    Event,
    Finalize,
    Promote,
    RunAnalysis,
    SetWeights,
    Start,
    StepDone,
    Transition,
    WaitForPromotion,
    WaitSeconds,
    decide,
)
from riskctl.rollout.state import Phase, RolloutState, Step, StepKind, canary_steps

__all__ = [
    "Abort",
    "Action",
    "AnalysisDone",
    "Event",
    "Finalize",
    "Phase",
    "Promote",
    "RolloutState",
    "RunAnalysis",
    "SetWeights",
    "Start",
    "Step",
    "StepDone",
    "StepKind",
    "Transition",
    "WaitForPromotion",
    "WaitSeconds",
    "canary_steps",
    "decide",
]
