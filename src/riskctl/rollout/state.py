"""Rollout state and steps: plain, frozen, serialisable values."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any


class Phase(enum.StrEnum):
    """Rollout phases (after Argo Rollouts): explicit and persisted."""

    PROGRESSING = "Progressing"  # executing steps
    PAUSED = "Paused"  # waiting for `riskctl promote` (manual step or inconclusive analysis)
    ABORTING = "Aborting"  # canary weight going to 0, canary being stopped
    ABORTED = "Aborted"  # stable serves everything; the reason is recorded
    HEALTHY = "Healthy"  # the new release is stable and serves everything


TERMINAL = frozenset({Phase.ABORTED, Phase.HEALTHY})


class StepKind(enum.StrEnum):
    """What one step of a strategy does."""

    SET_WEIGHT = "set_weight"  # canary gets `value` % of requests
    ANALYZE = "analyze"  # compare canary with stable for `value` seconds
    PAUSE = "pause"  # wait `value` seconds, or for a promotion when value is None


@dataclass(frozen=True, slots=True)
class Step:
    """One strategy step."""

    kind: StepKind
    value: float | None = None

    def describe(self) -> str:
        """Human-readable form."""
        if self.kind is StepKind.SET_WEIGHT:
            return f"set canary weight {self.value:g} %"
        if self.kind is StepKind.ANALYZE:
            return f"analyse for {self.value:g} s"
        return "pause until promoted" if self.value is None else f"pause {self.value:g} s"


def canary_steps(
    weights: Sequence[int], analysis_seconds: float, pause_seconds: float = 0.0
) -> tuple[Step, ...]:
    """Steps for canary weights such as (10, 50, 100): weight, optional pause, analysis."""
    steps: list[Step] = []
    for weight in weights:
        steps.append(Step(StepKind.SET_WEIGHT, float(weight)))
        if weight >= 100:
            break
        if pause_seconds:
            steps.append(Step(StepKind.PAUSE, pause_seconds))
        steps.append(Step(StepKind.ANALYZE, analysis_seconds))
    return tuple(steps)


@dataclass(frozen=True)
class RolloutState:
    """Everything needed to resume a rollout after a crash."""

    env: str
    strategy: str
    stable_release: str | None
    stable_slot: str | None
    canary_release: str
    canary_slot: str
    steps: tuple[Step, ...]
    step_index: int = 0
    phase: Phase = Phase.PROGRESSING
    canary_weight: int = 0
    started: bool = False  # canary instance started and ready
    message: str = ""
    history: tuple[str, ...] = field(default=())

    @property
    def terminal(self) -> bool:
        """Finished, one way or the other."""
        return self.phase in TERMINAL

    @property
    def current_step(self) -> Step | None:
        """The step being executed, or None when all steps are done."""
        return self.steps[self.step_index] if self.step_index < len(self.steps) else None

    def note(self, line: str, **changes: Any) -> RolloutState:
        """A copy with ``changes`` applied and ``line`` appended to the history."""
        return replace(self, history=(*self.history, line), **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for persistence."""
        data = asdict(self)
        data["phase"] = self.phase.value
        data["steps"] = [{"kind": s.kind.value, "value": s.value} for s in self.steps]
        data["history"] = list(self.history)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RolloutState:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["phase"] = Phase(values["phase"])
        values["steps"] = tuple(
            Step(StepKind(s["kind"]), s["value"]) for s in values.get("steps", [])
        )
        values["history"] = tuple(values.get("history", ()))
        return cls(**values)


__all__ = ["TERMINAL", "Phase", "RolloutState", "Step", "StepKind", "canary_steps"]
