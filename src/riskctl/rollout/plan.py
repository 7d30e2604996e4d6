"""A strategy's plan: the rollout machine's steps for one environment (pure, no I/O).

The local controller (:mod:`riskctl.rollout.controller`) runs this plan and
``riskctl render k8s`` renders the very same plan as Argo Rollouts steps; it lives on its own so
that rendering manifests does not import the HAProxy/supervisord controller.
"""

from __future__ import annotations

from typing import assert_never

from riskctl.config import Environment
from riskctl.model import Strategy
from riskctl.rollout.state import Step, StepKind, canary_steps

__all__ = ["plan_steps"]


def plan_steps(
    strategy: Strategy, spec: Environment, weights: tuple[int, ...], has_stable: bool
) -> tuple[Step, ...]:
    """The machine's steps for a strategy (a first deploy has nothing to compare with)."""
    full = (Step(StepKind.SET_WEIGHT, 100.0),)
    if not has_stable or strategy is Strategy.RECREATE:
        return full
    analysis = spec.analysis
    if strategy is Strategy.BLUEGREEN:
        return (Step(StepKind.ANALYZE, analysis.seconds), *full)
    if strategy is Strategy.CANARY:
        steps: list[Step] = []
        for step in canary_steps(
            weights or spec.canary_steps or (10, 50, 100),
            analysis.seconds,
            analysis.pause_seconds,
        ):
            steps.append(step)
            value = int(step.value or 0)
            if step.kind is StepKind.SET_WEIGHT and value in analysis.manual_pause_after:
                steps.append(Step(StepKind.PAUSE, None))
        if steps[-1] != full[0]:
            steps.append(full[0])
        return tuple(steps)
    assert_never(strategy)
