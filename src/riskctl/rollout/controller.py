"""The rollout controller: the deploy target of this host (``riskctl deploy/promote/abort/status``).

:class:`RolloutTarget` takes the environment's controller lock for each command, *converges*
what it finds (a pending abort, an Aborting or Finalizing state whose actions were interrupted,
an expired warm colour, orphan or missing instances, the router's weights re-applied from the
persisted desired state), then hands the command to the executor
(:class:`riskctl.rollout.executor.Executor`): observe → the pure
:func:`riskctl.rollout.reconcile.reconcile` (around :func:`riskctl.rollout.machine.decide`) →
save → act. ``riskctl abort`` of a running rollout is the exception to converging first: it
persists Aborting, sets the canary's weight to 0 as its first action, and converges afterwards
(issue 11, item 4). Every decision is persisted before its actions run, and every action is
idempotent, so a controller killed at any point resumes (re-run the same deploy) or reverts
(``riskctl abort``) safely, and ``riskctl status`` never shows unknown weights or leaves
orphans behind.

Strategies are step lists for the same machine (:func:`riskctl.rollout.plan.plan_steps`):
``recreate`` = set 100 %; ``bluegreen`` = pre-promotion analysis (both colours addressed
directly), then set 100 % with the previous colour kept warm for ``keep_previous_s``; ``canary``
= the configured weights with analysis (and optional pauses) after each. Before any weight
moves, the new instance's migrations run, it must become ready and pass smoke tests, and — where
configured — the shadow comparison (:mod:`riskctl.rollout.checks`).

The controller drives any :class:`~riskctl.targets.fleet.Fleet`: the local target
(HAProxy + supervisord) by default, a :class:`~riskctl.targets.fake.FakeFleet` in fast tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskctl.clock import SystemClock, Ticker
from riskctl.config import DeliveryConfig
from riskctl.errors import UsageError
from riskctl.model import Strategy
from riskctl.rollout.checks import Checks, ServiceChecks
from riskctl.rollout.envstate import EnvState, EnvStore, SlotOccupant
from riskctl.rollout.executor import Executor
from riskctl.rollout.machine import Abort, Promote, Start
from riskctl.rollout.plan import plan_steps
from riskctl.rollout.reconcile import Begin, FlipBack
from riskctl.rollout.state import Phase
from riskctl.router.interface import RouterError
from riskctl.targets.fleet import Fleet
from riskctl.targets.interface import EventSink, InstanceStatus, TargetOutcome, TargetRequest
from riskctl.targets.local import LocalTarget

__all__ = ["RolloutTarget", "plan_steps"]

#: How long `riskctl abort` waits for a running controller to finish the abort.
ABORT_WAIT_S = 30.0


def _no_sink(_action: str, _digest: str | None, _details: Mapping[str, Any]) -> None:
    return None


class RolloutTarget:
    """The deploy target of this host: the rollout controller over a :class:`Fleet`."""

    strategies = frozenset(Strategy)

    def __init__(
        self,
        home: Path,
        config: DeliveryConfig,
        fleet: Fleet | None = None,
        *,
        clock: Ticker | None = None,
        checks: Checks | None = None,
    ) -> None:
        self.home = home
        self.config = config
        self.fleet: Fleet = fleet or LocalTarget(home, config)
        self.clock: Ticker = clock or SystemClock()
        self.checks: Checks = checks or ServiceChecks()
        #: Where status-time convergence records what it did (set by the session).
        self.status_sink: EventSink = _no_sink
        # False: status only looks (no converge, nothing recorded), for callers without the
        # right to act on the environment (riskctl.service.Session.status).
        self.status_converges = True

    def store(self, env: str) -> EnvStore:
        """The persisted state of ``env``."""
        return EnvStore(self.home / "envs", env)

    def _run(self, env: str, sink: EventSink) -> Executor:
        return Executor(
            env=env,
            spec=self.config.environment(env),
            store=self.store(env),
            sink=sink,
            fleet=self.fleet,
            clock=self.clock,
            checks=self.checks,
            start_timeout_s=self.config.target.start_timeout_s,
        )

    def deploy(self, request: TargetRequest) -> TargetOutcome:
        """Roll ``request.release`` out (or resume its interrupted rollout)."""
        run = self._run(request.env, request.sink)
        with run.store.locked():
            run.steps.extend(self.fleet.ensure_infrastructure())
            st = run.converge(run.store.load())
            ro = st.rollout
            if st.active and ro is not None:
                if ro.canary_release != request.release.id:
                    raise UsageError(
                        f"a rollout of {ro.canary_release} is in progress in {request.env} "
                        f"({ro.phase.value}): promote it, abort it, or re-run its deploy"
                    )
                if ro.phase is Phase.PAUSED:
                    return run.outcome(st)
                run.say(f"resuming the rollout of {ro.canary_release} at step {ro.step_index}")
                return run.drive(st, Start())[1]
            stable = st.stable
            if stable is not None and stable.release == request.release.id:
                return TargetOutcome(
                    True, f"{stable.release} already serves {request.env}", tuple(run.steps),
                    recorded=True,
                )  # fmt: skip
            warm = st.slots.get(st.warm_slot) if st.warm_slot else None
            if (
                request.rollback
                and warm is not None
                and warm.release == request.release.id
                and self.fleet.alive(request.env, str(st.warm_slot), warm.release)
            ):
                return self._flip_back(run, st, warm)
            return run.drive(st, self._begin(run, st, request))[1]

    def _begin(self, run: Executor, st: EnvState, req: TargetRequest) -> Begin:
        """The deploy request as the reconciler's Begin event (with its plan made)."""
        strategy = Strategy.RECREATE if req.rollback else req.strategy
        steps = plan_steps(strategy, run.spec, req.canary_weights, st.stable is not None)
        return Begin(
            release=req.release.id,
            digest=req.release.digest,
            release_dir=str(req.release_dir),
            wheel=req.release.wheel,
            variables=dict(req.variables),
            strategy=str(req.strategy),
            steps=steps,
            ports=tuple(run.spec.ports),
            meta={
                "actor": req.actor,
                "golden_set": str(req.golden_set) if req.golden_set else None,
                "shadow_allowance": req.shadow_allowance,
                "rollback": req.rollback,
            },
        )

    def _flip_back(self, run: Executor, st: EnvState, warm: SlotOccupant) -> TargetOutcome:
        """Blue-green rollback: one weight change back to the warm previous colour."""
        st, actions = run.step(st, run.observe(FlipBack(run.spec.keep_previous_s)))
        run.run(st, actions)
        return TargetOutcome(True, f"{warm.release} serves {run.env} again", tuple(run.steps),
                             recorded=True)  # fmt: skip

    def promote(self, env: str, actor: str, sink: EventSink) -> TargetOutcome:
        """Continue a paused rollout."""
        run = self._run(env, sink)
        with run.store.locked():
            st = run.converge(run.store.load())
            ro = st.rollout
            if not st.active or ro is None or ro.phase is not Phase.PAUSED:
                phase = ro.phase.value if st.active and ro else "no rollout in progress"
                raise UsageError(f"nothing to promote in {env} ({phase})")
            return run.drive(st, Promote(actor))[1]

    def abort(self, env: str, reason: str, actor: str, sink: EventSink) -> TargetOutcome:
        """Abort the rollout in ``env``: canary weight 0 at once, stable keeps serving."""
        run = self._run(env, sink)
        store = run.store
        try:
            with store.locked():
                st = store.load()
                ro = st.rollout
                if st.active and ro is not None and ro.phase in (Phase.PROGRESSING, Phase.PAUSED):
                    return self._abort_now(run, st, f"{reason} (abort by {actor})")
                st = run.converge(st)
                if not st.active or st.rollout is None:
                    raise UsageError(f"no rollout in progress in {env}")
                return run.drive(st, Abort(f"{reason} (abort by {actor})"))[1]
        except UsageError as exc:
            if "another riskctl" not in str(exc):
                raise
        # A controller is running: take the traffic away now, then let it finish the abort.
        store.request_abort(reason, actor)
        st = store.load()
        ro = st.rollout
        if st.active and ro is not None and ro.canary_slot in st.slots:
            stable = st.stable_slot
            override = {ro.canary_slot: 0, **({stable: 100} if stable else {})}
            weights = run.route(st, override)
            run.record("rollout.weight", None, {"release": ro.canary_release, "weights": weights,
                                               "by": "abort request"})  # fmt: skip
            run.say(f"canary weight 0 at once (weights {weights}); the controller stops it")
        deadline = self.clock.monotonic() + ABORT_WAIT_S
        while self.clock.monotonic() < deadline:
            st = store.load()
            if not st.active:
                break
            self.clock.sleep(0.1)
        return TargetOutcome(
            True, f"rollout in {env} aborted" if not st.active else "abort requested",
            tuple(run.steps),
        )  # fmt: skip

    def _abort_now(self, run: Executor, st: EnvState, reason: str) -> TargetOutcome:
        """Abort a running rollout before any housekeeping: persist Aborting, set the canary's
        weight to 0 (the first action), record, stop the canary; converge only afterwards.

        When the front door cannot be reached (HAProxy down after a reboot: no traffic flows),
        the persisted Aborting state is completed by the converge that starts it again.
        """
        st, actions = run.step(st, run.observe(Abort(reason)))
        try:
            st = run.run(st, actions)
        except RouterError as exc:
            run.say(
                f"the front door did not answer ({exc}); completing the abort after starting it"
            )
        st = run.converge(st)
        return run.outcome(st)

    def status(self, env: str, port: int) -> InstanceStatus:
        """What runs in ``env``; converges first when no controller is running."""
        run = self._run(env, lambda *_: None)
        store = run.store
        busy = store.busy()
        st = store.load()
        if not busy and self.status_converges:
            with store.locked():
                run.sink = self.status_sink
                st = run.converge(st)
        return InstanceStatus(env, st.stable.release if st.stable else None,
                              "running" if st.slots else "absent", None,
                              self._details(run, st, busy))  # fmt: skip

    def _details(self, run: Executor, st: EnvState, busy: bool) -> dict[str, Any]:
        ro = st.rollout if st.active else None
        live: dict[str, Any] = {}
        if st.slots and self.fleet.infrastructure_running():
            live = {s.server: s for s in self.fleet.stats(run.env)}
        slots = {}
        for slot, occ in st.slots.items():
            srv = live.get(slot)
            slots[slot] = {
                "release": occ.release,
                "port": occ.port,
                "weight": srv.weight if srv else None,
                "check": srv.status if srv else "unknown",
                "running": self.fleet.alive(run.env, slot, occ.release),
            }
        stable = st.stable
        if ro is not None:
            phase = ro.phase.value
        elif stable is None:
            phase = "Idle"
        else:
            ok = slots.get(str(st.stable_slot), {})
            up = str(ok.get("check", "")).startswith("UP")
            phase = "Healthy" if ok.get("running") and up else "Degraded"
        controller = "idle"
        if ro is not None:
            controller = "running" if busy else (
                "waiting for `riskctl promote` or `riskctl abort`" if ro.phase is Phase.PAUSED
                else f"interrupted: re-run `riskctl deploy {ro.canary_release} --env {run.env}`"
                f" to resume, or `riskctl abort {run.env}`"
            )  # fmt: skip
        return {
            "stable_release": stable.release if stable else None,
            "canary_release": ro.canary_release if ro else None,
            "canary_weight": ro.canary_weight if ro else 0,
            "phase": phase,
            "controller": controller,
            "rollout": None
            if st.rollout is None
            else {
                "release": st.rollout.canary_release,
                "strategy": st.rollout.strategy,
                "phase": st.rollout.phase.value,
                "step": st.rollout.step_index,
                "steps": [s.describe() for s in st.rollout.steps],
                "message": st.rollout.message,
                "history": list(st.rollout.history[-8:]),
            },
            "analysis": st.verdict,
            "shadow": st.shadow,
            "slots": slots,
            "warm": None
            if not st.warm_slot or st.warm_slot not in st.slots
            else {
                "release": st.slots[st.warm_slot].release,
                "slot": st.warm_slot,
                "retire_in_s": round(max(0.0, (st.warm_until or 0) - run.now()), 1),
            },
            "notes": run.steps,
        }

    def last_known_good(self, env: str) -> SlotOccupant | None:
        """The stable occupant of ``env`` (hook for the daily-run guard)."""
        return self.store(env).load().stable
