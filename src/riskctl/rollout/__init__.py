"""Rollouts: the canary / blue-green / recreate state machine, its reconciler and executor.

:mod:`riskctl.rollout.machine` is pure — ``(state, event) -> (new state, actions)`` — and
:mod:`riskctl.rollout.reconcile` wraps it with the whole environment (slots, warm colour,
persisted phases) as ``reconcile(env_state, observed, now) -> (env_state, actions)``; both are
tested with literal inputs, the way Argo Rollouts tests its reconciler. The executor
(:mod:`riskctl.rollout.executor`) persists each decision *before* it acts, and every action is
idempotent, so a controller killed at any point resumes or safely reverts when it runs again.
:mod:`riskctl.rollout.plan` turns a strategy into steps; :mod:`riskctl.rollout.controller` is the
deploy target built from these.
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
