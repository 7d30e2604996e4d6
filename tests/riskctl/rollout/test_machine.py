"""The rollout state machine, driven with literal events (no I/O)."""

from __future__ import annotations

import json

from riskctl.analysis.verdict import Phase as AnalysisPhase
from riskctl.rollout import (
    Abort,
    AnalysisDone,
    Finalize,
    Phase,
    Promote,
    RolloutState,
    RunAnalysis,
    SetWeights,
    Start,
    Step,
    StepDone,
    StepKind,
    WaitForPromotion,
    WaitSeconds,
    canary_steps,
    decide,
)
from riskctl.rollout.machine import StartCanary, StopCanary, terminal_actions

OK = AnalysisDone(AnalysisPhase.SUCCESSFUL, "fine")


def _state(steps: tuple[Step, ...] | None = None) -> RolloutState:
    return RolloutState(
        env="prod",
        strategy="canary",
        stable_release="r1",
        stable_slot="blue",
        canary_release="r2",
        canary_slot="green",
        steps=steps if steps is not None else canary_steps((10, 50, 100), 5.0),
    )


def test_canary_steps_default_shape() -> None:
    """10 → analyse → 50 → analyse → 100, with an optional pause before each analysis."""
    kinds = [(s.kind.value, s.value) for s in canary_steps((10, 50, 100), 5.0)]
    assert kinds == [
        ("set_weight", 10.0),
        ("analyze", 5.0),
        ("set_weight", 50.0),
        ("analyze", 5.0),
        ("set_weight", 100.0),
    ]
    assert len(canary_steps((10, 100), 5.0, pause_seconds=2.0)) == 4


def test_happy_canary_reaches_healthy() -> None:
    """Every step in order; the last one finalises with the canary as the new stable."""
    t = decide(_state(), Start())
    assert t.actions == (StartCanary("r2", "green"), SetWeights(10))
    assert t.state.canary_weight == 10  # the persisted desired state matches the action
    t = decide(t.state, StepDone())
    assert t.actions == (RunAnalysis(5.0),)
    t = decide(t.state, OK)
    assert t.actions == (SetWeights(50),)
    assert t.state.canary_weight == 50
    t = decide(decide(t.state, StepDone()).state, OK)
    assert t.actions == (SetWeights(100),)
    t = decide(t.state, StepDone())
    assert t.actions == (SetWeights(100), Finalize("r2", "green", "blue"))
    assert t.state.phase is Phase.HEALTHY
    assert t.state.terminal


def test_failed_analysis_aborts_weight_first() -> None:
    """A failed analysis sets the canary weight to 0 before stopping it, and records why."""
    s = decide(decide(_state(), Start()).state, StepDone()).state
    t = decide(s, AnalysisDone(AnalysisPhase.FAILED, "error rate 12 %"))
    assert t.actions == (SetWeights(0), StopCanary("green"))
    assert t.state.phase is Phase.ABORTED
    assert "error rate 12 %" in t.state.message
    assert decide(t.state, Promote("sre-1")).actions == ()


def test_inconclusive_pauses_until_promoted() -> None:
    """Inconclusive analysis pauses; promote continues with the next step."""
    s = decide(decide(_state(), Start()).state, StepDone()).state
    t = decide(s, AnalysisDone(AnalysisPhase.INCONCLUSIVE, "not enough traffic"))
    assert t.state.phase is Phase.PAUSED
    assert isinstance(t.actions[0], WaitForPromotion)
    assert decide(t.state, StepDone()).actions == ()  # paused: steps don't advance by themselves
    t = decide(t.state, Promote("sre-1"))
    assert t.state.phase is Phase.PROGRESSING
    assert t.actions == (SetWeights(50),)
    assert "promoted by sre-1" in t.state.history


def test_manual_and_timed_pauses() -> None:
    """A pause without duration waits for promotion; a timed pause waits and continues."""
    steps = (
        Step(StepKind.SET_WEIGHT, 10),
        Step(StepKind.PAUSE, None),
        Step(StepKind.PAUSE, 3),
        Step(StepKind.SET_WEIGHT, 100),
    )
    t = decide(decide(_state(steps), Start()).state, StepDone())
    assert t.state.phase is Phase.PAUSED
    t = decide(t.state, Promote())
    assert t.actions == (WaitSeconds(3.0),)
    t = decide(t.state, StepDone())
    assert t.actions == (SetWeights(100),)


def test_manual_abort_any_time() -> None:
    """abort from any non-terminal phase restores stable at once."""
    s = decide(_state(), Start()).state
    t = decide(s, Abort("operator: smoke tests look wrong"))
    assert t.state.phase is Phase.ABORTED
    assert t.actions[0] == SetWeights(0)


def test_resume_after_crash_redoes_current_step() -> None:
    """Start on a started rollout re-checks the canary, then re-emits the current step."""
    s = decide(decide(_state(), Start()).state, StepDone()).state  # at the first analysis
    assert decide(s, Start()).actions == (StartCanary("r2", "green"), RunAnalysis(5.0))
    paused = decide(s, AnalysisDone(AnalysisPhase.INCONCLUSIVE, "thin")).state
    assert isinstance(decide(paused, Start()).actions[0], WaitForPromotion)


def test_analysis_event_outside_analysis_step_is_ignored() -> None:
    """A stale analysis result (e.g. replayed after a crash) does not skip steps."""
    s = decide(_state(), Start()).state  # at set-weight 10
    assert decide(s, OK).actions == ()


def test_first_release_has_no_stable() -> None:
    """With nothing stable yet, finalising retires nothing."""
    state = RolloutState(
        "dev", "recreate", None, None, "r1", "blue", (Step(StepKind.SET_WEIGHT, 100),)
    )
    t = decide(decide(state, Start()).state, StepDone())
    assert t.actions[-1] == Finalize("r1", "blue", None)


def test_state_round_trips_through_json() -> None:
    """Persisted state survives serialisation exactly."""
    s = decide(decide(_state(), Start()).state, StepDone()).state
    again = RolloutState.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again == s


def test_terminal_actions_complete_an_interrupted_end() -> None:
    """A controller that died inside an abort or a finalisation can replay exactly its actions."""
    started = decide(_state(), Start()).state
    aborted = decide(started, Abort("x")).state
    assert terminal_actions(aborted) == (SetWeights(0), StopCanary("green"))
    assert terminal_actions(started) == ()
    done = started
    for event in (StepDone(), OK, StepDone(), OK, StepDone()):
        done = decide(done, event).state
    assert done.phase is Phase.HEALTHY
    assert terminal_actions(done) == (SetWeights(100), Finalize("r2", "green", "blue"))
