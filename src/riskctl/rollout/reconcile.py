"""The environment reconciler: ``reconcile(state, observed, now) -> (state, actions)``, pure.

After Argo Rollouts' ``rolloutCanary`` reconcile: one function decides the whole environment's
next desired state — slots, stable and warm colours, the rollout and its explicit
:class:`~riskctl.rollout.envstate.EnvPhase` — from what the controller observed (an event such as
"analysis done", a pending abort request, instances found down) and the time, and lists the
actions that make reality match it. It reads no files, no clock, no network: every transition
is tested with literals. The executor (:mod:`riskctl.rollout.executor`) persists the state
*before* it performs the actions, each idempotent, so a controller killed between any two of them
finds a persisted decision whose actions it can simply repeat.

The rollout's own steps stay in :func:`riskctl.rollout.machine.decide`; this module wraps it with
the environment around it::

    Begin          → new rollout in the free slot (its leftover stopped), then Start
    machine event  → decide(); an abort is persisted as Aborting, a completion as Finalizing
                     (new stable slot, warm or retired previous colour) before their actions run
    Prepared       → the canary may take weight: continue with the current step
    Settled        → the Aborting / Finalizing actions ran: the rollout is finished
    FlipBack       → blue-green rollback to the warm previous colour (one weight change)
    (no event)     → converge: a pending abort, an interrupted end, an expired warm colour,
                     orphans and instances found down, weights re-applied

Where does the canary weight change? Decided and persisted here; the executor's ``SetWeights``
and ``Route`` actions apply :func:`desired_weights` to the fleet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from riskctl.rollout.envstate import EnvPhase, EnvState, SlotOccupant
from riskctl.rollout.machine import (
    Abort,
    Action,
    AnalysisDone,
    Event,
    Promote,
    Start,
    StartCanary,
    StepDone,
    Transition,
    decide,
    terminal_actions,
)
from riskctl.rollout.state import Phase, RolloutState, Step, StepKind

__all__ = [
    "SLOTS",
    "Begin",
    "EnvAction",
    "EnvEvent",
    "FlipBack",
    "Note",
    "Observed",
    "Prepared",
    "RemoveOrphans",
    "Route",
    "Settled",
    "StartInstance",
    "StopInstance",
    "desired_weights",
    "reconcile",
]

#: The two slots of every environment (the colours of blue-green).
SLOTS = ("blue", "green")

# --- events the environment adds to the machine's ----------------------------------------------


@dataclass(frozen=True)
class Begin:
    """Roll ``release`` out (the command's request, with the plan already made)."""

    release: str
    digest: str
    release_dir: str
    wheel: str
    variables: Mapping[str, str]
    strategy: str
    steps: tuple[Step, ...]
    ports: tuple[int, ...]  # one per slot, in SLOTS order
    meta: Mapping[str, Any]  # actor, golden set, rollback… (persisted with the rollout)


@dataclass(frozen=True)
class Prepared:
    """The canary migrated, started, became ready and passed smoke tests (and shadow)."""


@dataclass(frozen=True)
class Settled:
    """The actions of an Aborting or Finalizing state have all run."""


@dataclass(frozen=True)
class FlipBack:
    """Blue-green rollback: make the warm previous colour stable again."""

    keep_previous_s: float


EnvEvent = Event | Begin | Prepared | Settled | FlipBack


@dataclass(frozen=True)
class Observed:
    """What the controller saw before this decision."""

    event: EnvEvent | None = None
    abort: str | None = None  # a pending `riskctl abort` (its reason), if any
    down: frozenset[str] = frozenset()  # occupied slots whose instance is not running
    keep_previous_s: float = 0.0  # the environment's policy for the previous colour
    verdict: Mapping[str, Any] | None = None  # an analysis that just finished
    shadow: Mapping[str, Any] | None = None  # a shadow comparison that just finished


# --- actions the environment adds to the machine's ---------------------------------------------


@dataclass(frozen=True)
class StopInstance:
    """Stop the instance of ``release`` in ``slot`` (no longer in the desired state)."""

    slot: str
    release: str


@dataclass(frozen=True)
class StartInstance:
    """(Re)start the desired occupant of ``slot``, found not running."""

    slot: str


@dataclass(frozen=True)
class RemoveOrphans:
    """Stop every instance that is not a desired slot occupant."""


@dataclass(frozen=True)
class Route:
    """Apply :func:`desired_weights` to the front door."""


@dataclass(frozen=True)
class Note:
    """Tell the operator ``say`` and/or write ``action`` to the audit trail.

    ``with_steps``: the details get the command's narrated steps (only the executor has them).
    """

    say: str | None = None
    action: str | None = None
    digest: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    with_steps: bool = False


EnvAction = Action | StopInstance | StartInstance | RemoveOrphans | Route | Note

Decision = tuple[EnvState, tuple[EnvAction, ...]]

_RUNNING = (Phase.PROGRESSING, Phase.PAUSED)


def desired_weights(st: EnvState) -> dict[str, int]:
    """The weight per occupied slot; a canary not yet prepared (ready, smoke-tested,
    shadowed) gets none whatever its step says."""
    weights = st.weights()
    ro = st.rollout
    if st.active and ro is not None and not st.prepared and ro.canary_slot in st.slots:
        weights[ro.canary_slot] = 0
        if st.stable_slot in weights and st.stable_slot != ro.canary_slot:
            weights[str(st.stable_slot)] = 100
    return weights


def reconcile(st: EnvState, observed: Observed, now: float) -> Decision:
    """The next desired state of the environment and the actions that realise it."""
    if observed.verdict is not None:
        st = st.evolve(verdict=observed.verdict)
    if observed.shadow is not None:
        st = st.evolve(shadow=observed.shadow)
    event = observed.event
    ro = st.rollout
    match event:
        case None:
            return _converge(st, observed, now)
        case Begin():
            return _begin(st, event, observed, now)
        case FlipBack(keep_previous_s=keep):
            return _flip_back(st, keep, now)
        case Settled():
            return _settle(st, observed, now)
        case Prepared():
            return _prepared(st)
        case Start() | StepDone() | AnalysisDone() | Promote() | Abort():
            if not st.active or ro is None or ro.phase not in _RUNNING:
                return st, ()  # an ending in progress completes only through Settled
            return _transition(st, ro, decide(ro, event), observed, now)


def _phase(st: EnvState) -> EnvPhase:
    ro = st.rollout
    if ro is not None and ro.phase is Phase.PAUSED:
        return EnvPhase.PAUSED
    return EnvPhase.PROGRESSING if st.prepared else EnvPhase.PREPARING


def _transition(
    st: EnvState, before: RolloutState, t: Transition, observed: Observed, now: float
) -> Decision:
    """Persist the machine's decision with the environment around it."""
    after = t.state
    digest = str(st.rollout_meta.get("digest") or "") or None
    notes = tuple(
        Note(
            say=line,
            action="rollout.step",
            digest=digest,
            details={
                "release": after.canary_release,
                "step": line,
                "step_index": after.step_index,
                "phase": after.phase.value,
                "canary_weight": after.canary_weight,
            },
        )
        for line in after.history[len(before.history) :]
    )
    if after.phase is Phase.ABORTED:  # Aborting until the canary is really stopped (Settled)
        aborting = replace(after, phase=Phase.ABORTING)
        # Weight 0 is the first action after the decision is persisted; the notes (audit
        # entries) and stopping the canary follow (issue 11, item 4).
        first, rest = t.actions[:1], t.actions[1:]
        return st.evolve(rollout=aborting, phase=EnvPhase.ABORTING), first + notes + rest
    if after.phase is Phase.HEALTHY:
        return _finalizing(st.evolve(rollout=after), observed, now), notes + t.actions
    st = st.evolve(rollout=after)
    return st.evolve(phase=_phase(st)), notes + t.actions


def _finalizing(st: EnvState, observed: Observed, now: float) -> EnvState:
    """The canary's slot becomes stable; the previous colour is kept warm or retired."""
    ro = st.rollout
    assert ro is not None  # noqa: S101 - only called for a rollout
    retire = ro.stable_slot if ro.stable_slot != ro.canary_slot else None
    slots = dict(st.slots)
    warm_slot, warm_until = None, None
    if retire and retire in slots:
        if observed.keep_previous_s > 0:
            warm_slot, warm_until = retire, now + observed.keep_previous_s
        else:
            del slots[retire]  # the Finalize action stops it
    return st.evolve(
        slots=slots,
        stable_slot=ro.canary_slot,
        warm_slot=warm_slot,
        warm_until=warm_until,
        phase=EnvPhase.FINALIZING,
    )


def _begin(st: EnvState, b: Begin, observed: Observed, now: float) -> Decision:
    stable = st.stable
    canary_slot = next(s for s in SLOTS if s != st.stable_slot)
    slots = dict(st.slots)
    actions: list[EnvAction] = []
    warm_slot, warm_until = st.warm_slot, st.warm_until
    left = slots.pop(canary_slot, None)
    if canary_slot == st.warm_slot:
        warm_slot, warm_until = None, None
    if left is not None:  # the warm previous colour, or the leftover of an aborted rollout
        actions.append(StopInstance(canary_slot, left.release))
        if canary_slot == st.warm_slot:
            actions.append(_retired_note(left, canary_slot))
    port = b.ports[SLOTS.index(canary_slot)]
    rollout = RolloutState(
        env=st.env,
        strategy=b.strategy,
        stable_release=stable.release if stable else None,
        stable_slot=st.stable_slot,
        canary_release=b.release,
        canary_slot=canary_slot,
        steps=b.steps,
    )
    occupant = SlotOccupant(
        release=b.release,
        digest=b.digest,
        port=port,
        release_dir=b.release_dir,
        wheel=b.wheel,
        variables=dict(b.variables),
    )
    meta = {
        **b.meta,
        "strategy": b.strategy,
        "digest": b.digest,
        "previous": stable.release if stable else None,
        "started_at": now,
    }
    begun = st.evolve(
        slots={**slots, canary_slot: occupant},
        warm_slot=warm_slot,
        warm_until=warm_until,
        rollout=rollout,
        rollout_meta=meta,
        prepared=False,
        finished=False,
        verdict=None,
        shadow=None,
        phase=EnvPhase.PREPARING,
    )
    actions.append(
        Note(
            action="rollout.started",
            digest=b.digest,
            details={
                "release": b.release,
                "strategy": b.strategy,
                "slot": canary_slot,
                "port": port,
                "stable": rollout.stable_release,
                "steps": [s.describe() for s in b.steps],
            },
        )
    )
    started, more = _transition(begun, rollout, decide(rollout, Start()), observed, now)
    return started, (*actions, *more)


def _prepared(st: EnvState) -> Decision:
    """The canary may now take weight: carry on with the current step."""
    ro = st.rollout
    if not st.active or ro is None or ro.phase is not Phase.PROGRESSING:
        return st.evolve(prepared=True), ()
    st = st.evolve(prepared=True, phase=EnvPhase.PROGRESSING)
    # decide(Start) on a started rollout re-emits the current step after StartCanary; only its
    # actions are taken (its state would repeat the step's line in the history).
    redo = decide(ro, Start()).actions
    return st, tuple(a for a in redo if not isinstance(a, StartCanary))


def _settle(st: EnvState, observed: Observed, now: float) -> Decision:
    """The ending's actions ran: finish the rollout and say so."""
    ro = st.rollout
    if not st.active or ro is None:
        return st, ()
    meta = st.rollout_meta
    if st.phase is EnvPhase.ABORTING:
        aborted = replace(ro, phase=Phase.ABORTED)
        canary = st.slots.get(ro.canary_slot)
        slots = {k: v for k, v in st.slots.items() if k != ro.canary_slot or k == st.stable_slot}
        done = st.evolve(
            rollout=aborted,
            slots=slots,
            finished=True,
            phase=EnvPhase.HEALTHY if st.stable_slot in slots else EnvPhase.IDLE,
        )
        return done, (Route(), *_failure_notes(done, canary))
    if st.phase is EnvPhase.FINALIZING:
        done = st.evolve(finished=True, phase=EnvPhase.HEALTHY)
        new = done.slots[ro.canary_slot]
        notes: list[EnvAction] = []
        warm = done.slots.get(done.warm_slot) if done.warm_slot else None
        if warm is not None:
            notes.append(
                Note(
                    say=f"kept {warm.release} warm in slot {done.warm_slot} for "
                    f"{observed.keep_previous_s:g} s (rollback is one weight change)"
                )
            )
        details = {
            "release": ro.canary_release,
            "strategy": str(meta.get("strategy", "recreate")),
            "message": f"{ro.canary_release} serves {st.env}",
            "previous": meta.get("previous"),
            "duration_s": round(now - float(meta.get("started_at", now)), 2),
        }
        if meta.get("rollback"):
            notes.append(
                Note(
                    action="rollback.performed",
                    digest=new.digest,
                    details={**details, "reason": "requested"},
                    with_steps=True,
                )
            )
        else:
            notes.append(
                Note(action="deploy.succeeded", digest=new.digest, details=details, with_steps=True)
            )
        return done, tuple(notes)
    return st, ()


def _failure_notes(st: EnvState, canary: SlotOccupant | None) -> tuple[Note, ...]:
    ro = st.rollout
    assert ro is not None  # noqa: S101 - only called for a rollout
    # Did users' traffic reach the canary? Not before it was prepared (ready, smoke-tested,
    # shadowed: the weight guard holds it at 0), and only once a weight step above 0 ran.
    took_traffic = st.prepared and any(
        step.kind is StepKind.SET_WEIGHT and (step.value or 0) > 0
        for step in ro.steps[: ro.step_index + 1]
    )
    reason = ro.message.removeprefix("aborted: ")
    digest = canary.digest if canary else st.rollout_meta.get("digest")
    notes = [
        Note(
            action="deploy.failed",
            digest=str(digest) if digest else None,
            details={
                "release": ro.canary_release,
                "strategy": ro.strategy,
                "message": reason,
                "verdict": st.verdict,
                "took_traffic": took_traffic,
            },
            with_steps=True,
        )
    ]
    stable = st.stable
    if stable is not None:
        notes.append(
            Note(
                action="rollback.performed",
                digest=stable.digest,
                details={
                    "release": stable.release,
                    "reason": reason,
                    "aborted": ro.canary_release,
                    "took_traffic": took_traffic,
                },
            )
        )
    return tuple(notes)


def _retired_note(occ: SlotOccupant, slot: str) -> Note:
    details = {"release": occ.release, "slot": slot}
    say = f"retired the previous colour {occ.release} (slot {slot})"
    return Note(say=say, action="instance.retired", digest=occ.digest, details=details)


def _flip_back(st: EnvState, keep: float, now: float) -> Decision:
    warm = st.slots.get(st.warm_slot) if st.warm_slot else None
    if warm is None:
        return st, ()
    flipped = st.evolve(
        stable_slot=st.warm_slot, warm_slot=st.stable_slot, warm_until=now + keep,
        phase=EnvPhase.HEALTHY,
    )  # fmt: skip
    weights = desired_weights(flipped)
    return flipped, (
        Route(),
        Note(
            say=f"switched back to {warm.release} (weights {weights})",
            action="rollout.weight",
            digest=warm.digest,
            details={"release": warm.release, "weights": weights},
        ),
        Note(
            action="rollback.performed",
            digest=warm.digest,
            details={"release": warm.release, "reason": "requested", "mode": "warm colour"},
        ),
    )


def _converge(st: EnvState, observed: Observed, now: float) -> Decision:
    """No event: finish what a dead controller left, then make reality match the state."""
    ro = st.rollout
    if st.active and ro is not None:
        if observed.abort is not None and ro.phase in _RUNNING:
            return _transition(st, ro, decide(ro, Abort(observed.abort)), observed, now)
        if st.phase in (EnvPhase.ABORTING, EnvPhase.FINALIZING):
            end = "aborted" if st.phase is EnvPhase.ABORTING else "healthy"
            say = Note(say=f"completing the interrupted {end} end of the rollout")
            return st, (say, *terminal_actions(ro))
    actions: list[EnvAction] = []
    if st.warm_slot and st.warm_until is not None and now >= st.warm_until:
        occ = st.slots.get(st.warm_slot)
        if occ is not None:
            actions += [StopInstance(st.warm_slot, occ.release), _retired_note(occ, st.warm_slot)]
        slots = {k: v for k, v in st.slots.items() if k != st.warm_slot}
        st = st.evolve(slots=slots, warm_slot=None, warm_until=None)
    actions.append(RemoveOrphans())
    for slot in st.slots:
        if slot not in observed.down:
            continue
        if st.active and ro is not None and ro.canary_slot == slot and not st.prepared:
            continue  # the deploy that resumes it checks it before it gets traffic
        actions.append(StartInstance(slot))
    actions.append(Route())
    if not st.active:
        stable_down = st.stable_slot in observed.down
        phase = EnvPhase.IDLE if st.stable is None else EnvPhase.HEALTHY
        st = st.evolve(phase=EnvPhase.DEGRADED if stable_down else phase)
    return st, tuple(actions)
