"""The environment reconciler, driven with literal states and observations (no I/O)."""

from __future__ import annotations

import json

from riskctl.analysis.verdict import Phase as AnalysisPhase
from riskctl.rollout.envstate import EnvPhase, EnvState, SlotOccupant
from riskctl.rollout.machine import (
    Abort,
    AnalysisDone,
    Finalize,
    Promote,
    RunAnalysis,
    SetWeights,
    StartCanary,
    StepDone,
    StopCanary,
)
from riskctl.rollout.reconcile import (
    Begin,
    FlipBack,
    Note,
    Observed,
    Prepared,
    RemoveOrphans,
    Route,
    Settled,
    StartInstance,
    StopInstance,
    desired_weights,
    reconcile,
)
from riskctl.rollout.state import Phase, StepKind, canary_steps

NOW = 1_800_000_000.0
V1 = SlotOccupant("r1", "sha256:1", 8001, "/rel/r1", "r1.whl")
OK = AnalysisDone(AnalysisPhase.SUCCESSFUL, "fine")


def _stable() -> EnvState:
    return EnvState("prod", slots={"blue": V1}, stable_slot="blue")


def _begin(release: str = "r2") -> Begin:
    return Begin(
        release, f"sha256:{release}", f"/rel/{release}", f"{release}.whl", {"K": "v"},
        "canary", canary_steps((10, 50, 100), 5.0), (8001, 8002), {"actor": "sre-1"},
    )  # fmt: skip


def _run(st: EnvState, *events: object, keep: float = 0.0) -> tuple[EnvState, tuple[object, ...]]:
    actions: tuple[object, ...] = ()
    for event in events:
        st, actions = reconcile(st, Observed(event, keep_previous_s=keep), NOW)  # type: ignore[arg-type]
    return st, actions


def _machine(actions: tuple[object, ...]) -> list[object]:
    return [a for a in actions if not isinstance(a, Note)]


def test_begin_takes_the_free_slot_and_persists_before_starting() -> None:
    """Begin puts the new release in the free slot at weight 0, Preparing, started at `now`."""
    st, actions = _run(_stable(), _begin())
    assert st.phase is EnvPhase.PREPARING
    assert st.slots["green"].release == "r2"
    assert st.slots["green"].port == 8002
    assert st.rollout is not None
    assert st.rollout.started
    assert st.rollout.canary_weight == 10
    assert st.rollout_meta["started_at"] == NOW
    assert desired_weights(st) == {"blue": 100, "green": 0}  # not prepared: no traffic yet
    assert _machine(actions) == [StartCanary("r2", "green"), SetWeights(10)]
    assert [n.action for n in actions if isinstance(n, Note)][:2] == [
        "rollout.started", "rollout.step",
    ]  # fmt: skip


def test_begin_retires_a_warm_colour_only_after_persisting() -> None:
    """The warm previous colour in the free slot leaves the state first; stopping it is an
    action after the save (so a crash leaves an orphan the next run removes, never a gap)."""
    warm = SlotOccupant("r0", "sha256:0", 8002)
    st = EnvState("prod", {"blue": V1, "green": warm}, "blue", "green", NOW + 30)
    st, actions = _run(st, _begin())
    assert (st.warm_slot, st.warm_until) == (None, None)
    assert actions[0] == StopInstance("green", "r0")
    assert isinstance(actions[1], Note)
    assert actions[1].action == "instance.retired"


def test_prepared_lets_the_canary_take_its_step_weight() -> None:
    """Prepared marks the canary usable and continues with the current step."""
    st, _ = _run(_stable(), _begin())
    st, actions = _run(st, Prepared())
    assert st.prepared
    assert st.phase is EnvPhase.PROGRESSING
    assert actions == (SetWeights(10),)
    assert desired_weights(st) == {"blue": 90, "green": 10}


def test_abort_is_persisted_as_aborting_then_settles_to_aborted() -> None:
    """Phase.ABORTING is really set until the canary is stopped; Settled finishes it."""
    st, _ = _run(_stable(), _begin(), Prepared(), StepDone())
    st, actions = _run(st, Abort("operator"))
    assert st.rollout is not None
    assert st.rollout.phase is Phase.ABORTING
    assert st.phase is EnvPhase.ABORTING
    assert not st.finished
    assert desired_weights(st) == {"blue": 100, "green": 0}
    assert _machine(actions) == [SetWeights(0), StopCanary("green")]
    st, actions = _run(st, Settled())
    assert st.rollout is not None
    assert st.rollout.phase is Phase.ABORTED
    assert (st.finished, st.phase, set(st.slots)) == (True, EnvPhase.HEALTHY, {"blue"})
    assert actions[0] == Route()
    failed = [n for n in actions if isinstance(n, Note) and n.action == "deploy.failed"]
    assert failed[0].details["took_traffic"] is True  # 10 % ran after it was prepared


def test_an_abort_changes_the_weight_before_anything_else() -> None:
    """Aborting: the first action is the canary's weight to 0, before the audit notes and
    stopping the canary (which drains for a second), whatever the rollout had reached."""
    st, _ = _run(_stable(), _begin(), Prepared(), StepDone())
    for decided in (
        reconcile(st, Observed(Abort("operator")), NOW),
        reconcile(st, Observed(abort="bad (abort by sre-1)"), NOW),
    ):
        aborting, actions = decided
        assert aborting.phase is EnvPhase.ABORTING
        assert actions[0] == SetWeights(0)
        assert any(isinstance(a, Note) for a in actions[1:])
        assert actions[-1] == StopCanary("green")


def test_events_during_an_ending_do_not_restart_the_machine() -> None:
    """In Aborting, only Settled moves on; a stale StepDone or Promote changes nothing."""
    st, _ = _run(_stable(), _begin(), Abort("x"))
    for event in (StepDone(), Promote("sre-1"), OK):
        assert reconcile(st, Observed(event), NOW) == (st, ())


def test_happy_canary_finalizes_then_settles_healthy() -> None:
    """All steps: Finalizing moves the stable slot and retires the old one; Settled records."""
    st, _ = _run(_stable(), _begin(), Prepared(), StepDone(), OK, StepDone(), OK)
    st, actions = _run(st, StepDone())
    assert st.phase is EnvPhase.FINALIZING
    assert st.stable_slot == "green"
    assert set(st.slots) == {"green"}  # no keep_previous_s: blue is retired
    assert _machine(actions) == [SetWeights(100), Finalize("r2", "green", "blue")]
    st, actions = _run(st, Settled())
    assert (st.phase, st.finished) == (EnvPhase.HEALTHY, True)
    done = [n for n in actions if isinstance(n, Note) and n.action == "deploy.succeeded"]
    assert done[0].details["previous"] == "r1"
    assert done[0].with_steps


def test_bluegreen_keeps_the_previous_colour_warm_then_flips_back() -> None:
    """With keep_previous_s, the old colour stays warm until then; FlipBack is one weight
    change back to it."""
    events = (Prepared(), StepDone(), OK, StepDone(), OK, StepDone())
    st, _ = _run(_stable(), _begin(), *events, keep=30)
    assert (st.warm_slot, st.warm_until) == ("blue", NOW + 30)
    st, _ = _run(st, Settled(), keep=30)
    assert desired_weights(st) == {"blue": 0, "green": 100}
    st, actions = _run(st, FlipBack(30))
    assert (st.stable_slot, st.warm_slot) == ("blue", "green")
    assert desired_weights(st) == {"blue": 100, "green": 0}
    assert actions[0] == Route()


def test_converge_replays_an_interrupted_ending() -> None:
    """A state found Aborting (its controller died) gets its actions again, unchanged."""
    st, _ = _run(_stable(), _begin(), Abort("x"))
    again, actions = reconcile(st, Observed(), NOW)
    assert again == st
    assert _machine(actions) == [SetWeights(0), StopCanary("green")]


def test_converge_turns_a_pending_abort_request_into_aborting() -> None:
    """`riskctl abort` left a request: the next reconcile aborts the rollout."""
    st, _ = _run(_stable(), _begin(), Prepared())
    st, actions = reconcile(st, Observed(abort="bad (abort by sre-1)"), NOW)
    assert st.phase is EnvPhase.ABORTING
    assert "bad (abort by sre-1)" in st.rollout.message if st.rollout else False
    assert _machine(actions)[0] == SetWeights(0)


def test_converge_retires_an_expired_warm_colour_restarts_and_routes() -> None:
    """An expired warm colour is dropped and stopped; a stable found down is restarted."""
    warm = SlotOccupant("r0", "sha256:0", 8002)
    st = EnvState("prod", {"blue": V1, "green": warm}, "blue", "green", NOW - 1)
    st, actions = reconcile(st, Observed(down=frozenset({"blue"})), NOW)
    assert set(st.slots) == {"blue"}
    assert st.warm_slot is None
    assert st.phase is EnvPhase.DEGRADED
    assert _machine(actions) == [
        StopInstance("green", "r0"), RemoveOrphans(), StartInstance("blue"), Route(),
    ]  # fmt: skip


def test_converge_does_not_restart_an_unprepared_canary() -> None:
    """A canary never checked stays down until the resumed deploy prepares it."""
    st, _ = _run(_stable(), _begin())
    _, actions = reconcile(st, Observed(down=frozenset({"green"})), NOW)
    assert StartInstance("green") not in actions


def test_analysis_verdict_is_persisted_with_its_decision() -> None:
    """The verdict observed with AnalysisDone lands in the state that the decision saves."""
    st, _ = _run(_stable(), _begin(), Prepared(), StepDone())
    verdict = {"phase": "Failed", "summary": "error rate 12 %"}
    failed = AnalysisDone(AnalysisPhase.FAILED, "error rate 12 %")
    st, actions = reconcile(st, Observed(failed, verdict=verdict), NOW)
    assert st.verdict == verdict
    assert st.phase is EnvPhase.ABORTING
    assert RunAnalysis(5.0) not in actions


def test_first_release_settles_without_a_stable_to_retire() -> None:
    """Recreate into an empty environment: nothing to retire, Healthy at the end."""
    b = Begin("r1", "sha256:1", "/r", "w", {}, "recreate",
              canary_steps((100,), 1.0), (8001, 8002), {})  # fmt: skip
    st, actions = _run(EnvState("dev"), b)
    assert _machine(actions) == [StartCanary("r1", "blue"), SetWeights(100)]
    st, _ = _run(st, Prepared(), StepDone(), Settled())
    assert (st.stable_slot, st.phase, st.finished) == ("blue", EnvPhase.HEALTHY, True)
    assert [s.kind for s in st.rollout.steps] == [StepKind.SET_WEIGHT] if st.rollout else False


def test_phase_round_trips_and_is_derived_for_old_state_files() -> None:
    """The phase is persisted; a state file without one gets the phase its flags imply."""
    st, _ = _run(_stable(), _begin(), Prepared())
    data = json.loads(json.dumps(st.to_dict()))
    assert EnvState.from_dict(data) == st
    del data["phase"]
    assert EnvState.from_dict(data).phase is EnvPhase.PROGRESSING
