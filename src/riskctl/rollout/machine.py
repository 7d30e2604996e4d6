"""The rollout state machine: pure decisions, no I/O.

``decide(state, event)`` returns the next desired state and the actions that realise it. The
executor persists the state first, then performs the actions; each action is idempotent
(setting a weight twice, starting an already-running instance, stopping a stopped one), so
replaying the last transition after a crash is always safe.

Events and what they do::

    Start              → start the canary (weight 0), then run the steps
    StepDone           → the current set-weight / pause step finished: next step
    AnalysisDone(v)    → Successful: next step · Failed: abort · Inconclusive: pause
    Promote            → a paused rollout continues (skipping the rest of a manual pause)
    Abort(reason)      → canary weight to 0 at once, stop the canary; stable keeps serving
    (all steps done)   → finalize: the canary becomes stable at 100 %, the old one retires
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from riskctl.analysis.phase import Phase as AnalysisPhase
from riskctl.rollout.state import Phase, RolloutState, StepKind

# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """Begin (or resume) the rollout."""


@dataclass(frozen=True, slots=True)
class StepDone:
    """The current set-weight or timed-pause step has been carried out."""


@dataclass(frozen=True, slots=True)
class AnalysisDone:
    """The current analysis step finished with this phase and summary."""

    phase: AnalysisPhase
    summary: str


@dataclass(frozen=True, slots=True)
class Promote:
    """A person asked a paused rollout to continue."""

    actor: str = ""


@dataclass(frozen=True, slots=True)
class Abort:
    """Abort: a person asked, or something failed (crash, analysis, smoke test)."""

    reason: str


Event = Start | StepDone | AnalysisDone | Promote | Abort

# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartCanary:
    """Start the canary instance in its slot and wait until it is ready (weight stays 0)."""

    release: str
    slot: str


@dataclass(frozen=True, slots=True)
class SetWeights:
    """Route ``canary`` % of new requests to the canary slot and the rest to stable."""

    canary: int


@dataclass(frozen=True, slots=True)
class RunAnalysis:
    """Compare canary with stable for ``seconds`` (generating load if traffic is thin)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class WaitSeconds:
    """A timed pause."""

    seconds: float


@dataclass(frozen=True, slots=True)
class WaitForPromotion:
    """Stop here until `riskctl promote` (or abort)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Finalize:
    """The canary is the new stable: 100 % to it, retire the old stable instance."""

    release: str
    slot: str
    retire_slot: str | None


@dataclass(frozen=True, slots=True)
class StopCanary:
    """Stop the aborted canary's instance (its weight is already 0)."""

    slot: str


Action = (
    StartCanary | SetWeights | RunAnalysis | WaitSeconds | WaitForPromotion | Finalize | StopCanary
)


@dataclass(frozen=True, slots=True)
class Transition:
    """The next desired state and what to do to get there."""

    state: RolloutState
    actions: tuple[Action, ...]


def _step_actions(state: RolloutState) -> Transition:
    """Actions for the step at ``state.step_index`` (or finalisation after the last one)."""
    step = state.current_step
    if step is None:
        done = state.note(
            f"{state.canary_release} is stable in {state.env}",
            phase=Phase.HEALTHY,
            canary_weight=100,
            message="rollout complete",
        )
        retire = state.stable_slot if state.stable_slot != state.canary_slot else None
        return Transition(
            done, (SetWeights(100), Finalize(state.canary_release, state.canary_slot, retire))
        )
    if step.kind is StepKind.SET_WEIGHT:
        weight = int(step.value or 0)
        nxt = state.note(step.describe(), canary_weight=weight, message=step.describe())
        return Transition(nxt, (SetWeights(weight),))
    if step.kind is StepKind.ANALYZE:
        seconds = float(step.value or 0)
        return Transition(
            state.note(step.describe(), message=step.describe()), (RunAnalysis(seconds),)
        )
    if step.value is None:
        paused = state.note(
            "paused: waiting for promotion",
            phase=Phase.PAUSED,
            message="paused until `riskctl promote`",
        )
        return Transition(paused, (WaitForPromotion("manual pause step"),))
    return Transition(
        state.note(step.describe(), message=step.describe()), (WaitSeconds(float(step.value)),)
    )


def _advance(state: RolloutState) -> Transition:
    return _step_actions(state.note("step done", step_index=state.step_index + 1))


def _abort(state: RolloutState, reason: str) -> Transition:
    aborted = state.note(
        f"aborted: {reason}", phase=Phase.ABORTED, canary_weight=0, message=f"aborted: {reason}"
    )
    # Weight first, then the instance: the stable release keeps serving throughout.
    return Transition(aborted, (SetWeights(0), StopCanary(state.canary_slot)))


def terminal_actions(state: RolloutState) -> tuple[Action, ...]:
    """The actions that complete a terminal state (replayed when a controller died in them)."""
    if state.phase in (Phase.ABORTING, Phase.ABORTED):
        return (SetWeights(0), StopCanary(state.canary_slot))
    if state.phase is Phase.HEALTHY:
        retire = state.stable_slot if state.stable_slot != state.canary_slot else None
        return (SetWeights(100), Finalize(state.canary_release, state.canary_slot, retire))
    return ()


def decide(state: RolloutState, event: Event) -> Transition:
    """The next desired state and its actions. Terminal states ignore further events."""
    if state.terminal:
        return Transition(state, ())
    match event:
        case Abort(reason=reason):
            return _abort(state, reason)
        case Start():
            if not state.started:
                started = state.note(
                    f"starting {state.canary_release} in slot {state.canary_slot}", started=True
                )
                first = _step_actions(started)
                return Transition(
                    first.state,
                    (StartCanary(state.canary_release, state.canary_slot), *first.actions),
                )
            if state.phase is Phase.PAUSED:
                return Transition(state, (WaitForPromotion(state.message),))
            # Resuming after a crash: make sure the canary is up and checked, then redo the
            # current step (both idempotent).
            redo = _step_actions(state)
            return Transition(
                redo.state, (StartCanary(state.canary_release, state.canary_slot), *redo.actions)
            )
        case StepDone():
            if state.phase is not Phase.PROGRESSING:
                return Transition(state, ())
            return _advance(state)
        case AnalysisDone(phase=phase, summary=summary):
            step = state.current_step
            if step is None or step.kind is not StepKind.ANALYZE:
                return Transition(state, ())
            noted = state.note(f"analysis {phase.value}: {summary}")
            if phase is AnalysisPhase.SUCCESSFUL:
                return _advance(noted)
            if phase is AnalysisPhase.FAILED:
                return _abort(noted, f"analysis failed: {summary}")
            paused = noted.note(
                "paused: analysis inconclusive",
                phase=Phase.PAUSED,
                message=f"analysis inconclusive ({summary}); promote or abort",
            )
            return Transition(paused, (WaitForPromotion("analysis inconclusive"),))
        case Promote(actor=actor):
            if state.phase is not Phase.PAUSED:
                return Transition(state, ())
            resumed = state.note(f"promoted by {actor or 'someone'}", phase=Phase.PROGRESSING)
            return _advance(resumed)
    assert_never(event)


__all__ = [
    "Abort",
    "Action",
    "AnalysisDone",
    "Event",
    "Finalize",
    "Promote",
    "RunAnalysis",
    "SetWeights",
    "Start",
    "StartCanary",
    "StepDone",
    "StopCanary",
    "Transition",
    "WaitForPromotion",
    "WaitSeconds",
    "decide",
    "terminal_actions",
]
