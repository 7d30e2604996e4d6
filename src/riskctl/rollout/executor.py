"""The executor: observe → :func:`~riskctl.rollout.reconcile.reconcile` → save → act.

:class:`Executor` is one command's work on one environment (its controller lock held). It is the
only caller of :meth:`EnvStore.save <riskctl.rollout.envstate.EnvStore.save>`: :meth:`step`
saves each decided state *before* any of its actions run, and the actions only act on the fleet
(:class:`~riskctl.targets.fleet.Fleet`), narrate and record — each idempotent, each reporting
what it observed (an :class:`~riskctl.rollout.reconcile.Observed`) for the next decision. A
controller killed anywhere therefore leaves a persisted decision whose actions the next command
repeats (``riskctl status`` or the same ``riskctl deploy`` converges, ``riskctl abort`` reverts).
Time comes only from the injected :class:`~riskctl.clock.Ticker`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, assert_never

from riskctl.audit.actions import Action
from riskctl.clock import Ticker
from riskctl.config import Environment
from riskctl.errors import DeployFailedError
from riskctl.riskclient import bearer
from riskctl.rollout.checks import Checks
from riskctl.rollout.envstate import EnvPhase, EnvState, EnvStore, SlotOccupant
from riskctl.rollout.machine import (
    Abort,
    Finalize,
    RunAnalysis,
    SetWeights,
    StartCanary,
    StepDone,
    StopCanary,
    WaitForPromotion,
    WaitSeconds,
)
from riskctl.rollout.reconcile import (
    EnvAction,
    EnvEvent,
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
from riskctl.rollout.state import Phase
from riskctl.targets.fleet import Fleet
from riskctl.targets.interface import EventSink, TargetOutcome

__all__ = ["Executor"]

#: Rollout phases in which a pending `riskctl abort` interrupts the next action.
_INTERRUPTIBLE = (Phase.PROGRESSING, Phase.PAUSED)
#: At most this many converge passes per command (each finishes one thing a dead controller
#: left: an abort, an ending, an expired warm colour; the last one routes).
_CONVERGE_PASSES = 4


@dataclass
class Executor:
    """One command's work on one environment (lock held)."""

    env: str
    spec: Environment
    store: EnvStore
    sink: EventSink
    fleet: Fleet
    clock: Ticker
    checks: Checks
    start_timeout_s: float
    steps: list[str] = field(default_factory=list)
    token: str | None = None

    # -- narration and the audit trail ------------------------------------------------------

    def say(self, line: str) -> None:
        """Tell the operator (and the deploy's audit entry)."""
        self.steps.append(line)

    def record(self, action: str, digest: str | None, details: Mapping[str, Any]) -> None:
        """Write an audit entry."""
        self.sink(action, digest, details)

    def abort_reason(self) -> str | None:
        """The reason of a pending `riskctl abort`, if any."""
        request = self.store.pending_abort()
        return None if request is None else f"{request['reason']} (abort by {request['actor']})"

    def now(self) -> float:
        """Epoch seconds from the injected clock."""
        return self.clock.now().timestamp()

    # -- decide and persist -----------------------------------------------------------------

    def step(self, st: EnvState, observed: Observed) -> tuple[EnvState, tuple[EnvAction, ...]]:
        """Decide, and persist the decision before anything acts on it."""
        new, actions = reconcile(st, observed, self.now())
        if new != st:
            self.store.save(new)
        if new.rollout is not None and new.rollout.phase in (Phase.ABORTING, Phase.ABORTED):
            self.store.clear_abort()  # handled: the abort is persisted
        return new, actions

    def observe(self, event: EnvEvent | None = None, **facts: Any) -> Observed:
        """An observation carrying ``event`` and the environment's policy."""
        return Observed(event, keep_previous_s=self.spec.keep_previous_s, **facts)

    def drive(self, st: EnvState, event: EnvEvent) -> tuple[EnvState, TargetOutcome]:
        """Decide on ``event`` and carry the decisions out until the rollout pauses or ends."""
        st, actions = self.step(st, self.observe(event))
        st = self.run(st, actions)
        return st, self.outcome(st)

    def run(self, st: EnvState, actions: Iterable[EnvAction]) -> EnvState:
        """Perform ``actions`` in order; whatever one reports is decided on at once, and that
        decision's actions replace the rest (they were decided on an older state)."""
        queue = deque(actions)
        while queue:
            action = queue.popleft()
            ro = st.rollout
            if (
                ro is not None
                and ro.phase in _INTERRUPTIBLE
                and isinstance(action, SetWeights | RunAnalysis | WaitSeconds | WaitForPromotion)
                and (reason := self.abort_reason()) is not None
            ):
                st, decided = self.step(st, self.observe(Abort(reason)))
                queue = deque(decided)
                continue
            report = self.act(st, action)
            if report is not None:
                st, decided = self.step(st, report)
                queue = deque(decided)
        return st

    def converge(self, st: EnvState) -> EnvState:
        """Make reality match the persisted desired state; finish what a dead controller left."""
        reason = self.abort_reason()
        if reason is not None and not st.active:
            self.store.clear_abort()
            reason = None
        if not st.slots and not self.fleet.programs(self.env):
            return st
        self.steps.extend(self.fleet.ensure_infrastructure())
        for _ in range(_CONVERGE_PASSES):
            down = frozenset(
                slot
                for slot, occ in st.slots.items()
                if not self.fleet.alive(self.env, slot, occ.release)
            )
            st, actions = self.step(st, self.observe(abort=reason, down=down))
            reason = None  # decided on (an abort is now persisted)
            st = self.run(st, actions)
            if Route() in actions:  # the housekeeping pass: nothing was left to finish
                break
        return st

    # -- actions ----------------------------------------------------------------------------

    def route(self, st: EnvState, override: Mapping[str, int] | None = None) -> dict[str, int]:
        """Send the desired weights (or ``override``) to the front door."""
        weights = {**desired_weights(st), **(override or {})}
        occupants = {slot: occ.port for slot, occ in st.slots.items()}
        self.fleet.route(self.env, occupants, weights)
        return weights

    def act(self, st: EnvState, action: EnvAction) -> Observed | None:
        """Perform one action (idempotent); what it observed, when that needs a decision."""
        ro = st.rollout
        match action:
            case Note():
                self.note(action)
                return None
            case Route():
                self.route(st)
                return None
            case RemoveOrphans():
                wanted = {slot: occ.release for slot, occ in st.slots.items()}
                for name in self.fleet.remove_orphans(self.env, wanted):
                    self.say(f"stopped orphan instance {name}")
                    self.record(Action.INSTANCE_ORPHAN_STOPPED, None, {"program": name})
                return None
            case StartInstance(slot=slot):
                occ = st.slots[slot]
                self.start(slot, occ)
                self.say(f"restarted {occ.release} in slot {slot}")
                self.record(Action.INSTANCE_RESTARTED, occ.digest, {"release": occ.release})
                return None
            case StopInstance(slot=slot, release=release):
                self.fleet.stop(self.env, slot, release)
                return None
        assert ro is not None  # noqa: S101 - the machine's actions come with a rollout
        match action:
            case StartCanary():
                return self.prepare(st)
            case SetWeights(canary=weight):
                canary = st.slots.get(ro.canary_slot)
                if weight > 0 and canary and not self.fleet.alive(self.env, ro.canary_slot,
                                                                   canary.release):  # fmt: skip
                    return self.observe(
                        Abort(f"canary {canary.release} crashed (instance not running)")
                    )
                weights = self.route(st)
                self.record(
                    Action.ROLLOUT_WEIGHT,
                    canary.digest if canary else None,
                    {"release": ro.canary_release, "weights": weights},
                )
                return self.observe(StepDone()) if ro.phase is Phase.PROGRESSING else None
            case RunAnalysis(seconds=seconds):
                return self.checks.analyse(self, st, seconds)
            case WaitSeconds(seconds=seconds):
                deadline = self.clock.monotonic() + seconds
                while (left := deadline - self.clock.monotonic()) > 0:
                    if self.abort_reason() is not None:
                        break
                    self.clock.sleep(min(0.2, left))
                return self.observe(StepDone())
            case WaitForPromotion(reason=reason):
                self.say(f"paused ({reason}): `riskctl promote {self.env}` or `riskctl abort`")
                return None
            case Finalize(retire_slot=retire):
                # The decision already moved the stable slot; a retired colour (not kept warm)
                # is no longer a slot occupant and only has to be stopped.
                if retire and retire not in st.slots and ro.stable_release:
                    self.fleet.stop(self.env, retire, ro.stable_release)
                    self.say(f"retired {ro.stable_release} (slot {retire})")
                self.route(st)
                return self.observe(Settled())
            case StopCanary(slot=slot):
                canary = st.slots.get(slot)
                if canary is not None and slot != st.stable_slot:
                    self.fleet.stop(self.env, slot, canary.release)
                    self.say(f"stopped the canary {canary.release}")
                return self.observe(Settled())
        assert_never(action)

    def note(self, note: Note) -> None:
        """Say and/or record what a decision asked to."""
        if note.say is not None:
            self.say(note.say)
        if note.action is not None:
            details = dict(note.details)
            if note.with_steps:
                details["steps"] = list(self.steps)
            self.record(note.action, note.digest, details)

    def start(self, slot: str, occ: SlotOccupant) -> bool:
        """Run ``occ`` in ``slot`` (idempotent); whether it was started now."""
        return self.fleet.start(
            self.env, slot, release=occ.release, release_dir=Path(occ.release_dir),
            wheel=occ.wheel, port=occ.port, variables=occ.variables,
        )  # fmt: skip

    def headers(self, occupant: SlotOccupant) -> dict[str, str]:
        """The service's Authorization header, when the environment wants one."""
        if not self.spec.bearer_token:
            return {}
        if self.token is None:
            self.token = self.fleet.api_token(
                self.env, Path(occupant.release_dir), occupant.wheel, occupant.variables
            )
        return bearer(self.token)

    def prepare(self, st: EnvState) -> Observed | None:
        """Migrations, start, readiness and smoke tests, shadow comparison (idempotent)."""
        ro = st.rollout
        assert ro is not None  # noqa: S101 - prepare runs only in a rollout
        occ = st.slots[ro.canary_slot]
        self.steps.extend(self.fleet.ensure_infrastructure())
        if not st.prepared:
            try:
                out = self.fleet.migrate(Path(occ.release_dir), occ.wheel, occ.variables)
            except DeployFailedError as exc:
                return self.observe(Abort(str(exc)))
            self.say(f"migrations of {occ.release}: {out}")
            self.record(
                Action.MIGRATIONS_APPLIED, occ.digest, {"release": occ.release, "output": out}
            )
        if self.start(ro.canary_slot, occ):
            self.say(f"started {occ.release} in slot {ro.canary_slot} on port {occ.port}")
        self.route(st)
        ready = self.fleet.wait_ready(
            self.env, ro.canary_slot, release=occ.release, port=occ.port, digest=occ.digest,
            timeout=self.start_timeout_s,
        )  # fmt: skip
        if not ready.ok:
            return self.observe(Abort(ready.reason))
        timeout = self.start_timeout_s
        if not self.fleet.wait_routable(self.env, ro.canary_slot, timeout):
            return self.observe(
                Abort(f"HAProxy never saw {occ.release} healthy within {timeout:g} s")
            )
        if st.prepared:
            return None
        self.say(ready.reason)
        self.record(
            Action.SMOKE_PASSED, occ.digest, {"release": occ.release, "version": ready.version}
        )
        self.checks.warm_up(self, st, occ)
        stable = st.stable
        if self.spec.shadow.enabled and stable is not None:
            summary, failure = self.checks.shadow(self, st, occ, stable)
            if failure is not None:
                return self.observe(Abort(failure), shadow=summary)
            return self.observe(Prepared(), shadow=summary)
        return self.observe(Prepared())

    # -- the command's result ---------------------------------------------------------------

    def outcome(self, st: EnvState) -> TargetOutcome:
        """What the command reports for the rollout in ``st``."""
        ro = st.rollout
        assert ro is not None  # noqa: S101 - only after a rollout was driven
        details = {
            "phase": ro.phase.value,
            "canary_release": ro.canary_release,
            "stable_release": st.stable.release if st.stable else None,
            "verdict": st.verdict,
            "shadow": st.shadow,
        }
        if ro.phase is Phase.PAUSED:
            return TargetOutcome(True, ro.message, tuple(self.steps), paused=True, details=details)
        if ro.phase is Phase.HEALTHY and st.phase is not EnvPhase.FINALIZING:
            return TargetOutcome(
                True, f"{ro.canary_release} serves {self.env}", tuple(self.steps),
                recorded=True, details=details,
            )  # fmt: skip
        return TargetOutcome(
            False,
            ro.message.removeprefix("aborted: ")
            + (f"; {ro.stable_release} keeps serving {self.env}" if ro.stable_release else ""),
            tuple(self.steps),
            rolled_back=ro.stable_release is not None,
            recorded=True,
            details=details,
        )
