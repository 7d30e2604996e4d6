"""The rollout controller: load state → decide → persist desired state → act → record.

:class:`RolloutTarget` is the deploy target of this host. For each command it takes the
environment's controller lock, *converges* what it finds (a pending abort, a terminal state whose
actions were interrupted, an expired warm colour, orphan or missing instances, and the router's
weights re-applied from the persisted desired state), then drives the pure state machine
(:func:`riskctl.rollout.machine.decide`). Every transition is persisted before its actions run,
and every action is idempotent, so a controller killed at any point resumes (re-run the same
deploy) or reverts (``riskctl abort``) safely, and ``riskctl status`` never shows unknown
weights or leaves orphans behind.

Strategies are step lists for the same machine: ``recreate`` = set 100 %; ``bluegreen`` =
pre-promotion analysis (both colours addressed directly), then set 100 % with the previous colour
kept warm for ``keep_previous_s``; ``canary`` = the configured weights with analysis (and
optional pauses) after each. Before any weight moves, the new instance's migrations run, it must
become ready and pass smoke tests, and — where configured — the shadow comparison.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, assert_never

from riskctl.analysis.load import generate_load
from riskctl.analysis.prometheus import scrape
from riskctl.analysis.runner import WindowProbe, run_window
from riskctl.analysis.verdict import Phase as AnalysisPhase
from riskctl.config import DeliveryConfig, Environment
from riskctl.errors import DeployFailedError, UsageError
from riskctl.model import Strategy
from riskctl.rollout.envstate import EnvState, EnvStore, SlotOccupant
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
    StartCanary,
    StepDone,
    StopCanary,
    WaitForPromotion,
    WaitSeconds,
    decide,
    terminal_actions,
)
from riskctl.rollout.state import Phase, RolloutState, Step, StepKind, canary_steps
from riskctl.router.haproxy import SLOTS
from riskctl.shadow.compare import Tolerance
from riskctl.shadow.golden import GoldenSetError, load_golden_set
from riskctl.shadow.runner import PATH, run_shadow
from riskctl.targets.interface import EventSink, InstanceStatus, TargetOutcome, TargetRequest
from riskctl.targets.local import LocalTarget

__all__ = ["RolloutTarget", "plan_steps"]

#: How long `riskctl abort` waits for a running controller to finish the abort.
ABORT_WAIT_S = 30.0


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


def _finite(metrics: Mapping[str, float]) -> dict[str, float | None]:
    return {k: (round(v, 6) if math.isfinite(v) else None) for k, v in metrics.items()}


@dataclass
class _Run:
    """One command's work on one environment (lock held)."""

    target: RolloutTarget
    env: str
    spec: Environment
    store: EnvStore
    sink: EventSink
    steps: list[str] = field(default_factory=list)
    token: str | None = None

    @property
    def fleet(self) -> LocalTarget:
        return self.target.fleet

    def say(self, line: str) -> None:
        self.steps.append(line)

    def record(self, action: str, digest: str | None, details: Mapping[str, Any]) -> None:
        self.sink(action, digest, details)

    # -- routing --------------------------------------------------------------------------

    def route(self, st: EnvState, override: Mapping[str, int] | None = None) -> dict[str, int]:
        weights = {**st.weights(), **(override or {})}
        occupants = {slot: occ.port for slot, occ in st.slots.items()}
        self.fleet.route(self.env, occupants, weights)
        return weights

    def _canary_weight_guard(self, st: EnvState) -> dict[str, int]:
        """A canary not yet prepared (ready, smoke-tested, shadowed) gets no traffic."""
        ro = st.rollout
        if st.active and ro is not None and not st.prepared and ro.canary_slot in st.slots:
            stable = st.stable_slot
            return {ro.canary_slot: 0, **({stable: 100} if stable else {})}
        return {}

    # -- converge -------------------------------------------------------------------------

    def converge(self, st: EnvState) -> EnvState:
        """Make reality match the persisted desired state; finish what a dead controller left."""
        request = self.store.pending_abort()
        if request is not None and not st.active:
            self.store.clear_abort()
        if not st.slots and not self.fleet.programs(self.env):
            return st
        self.steps.extend(self.fleet.ensure_infrastructure())
        ro = st.rollout
        if st.active and ro is not None and request is not None and not ro.terminal:
            reason = f"{request['reason']} (abort by {request['actor']})"
            return self.drive(st, Abort(reason))[0]
        if st.active and ro is not None and ro.terminal:
            self.say(f"completing the interrupted {ro.phase.value.lower()} end of the rollout")
            for action in terminal_actions(ro):
                st, _ = self.act(st, action)
        if st.warm_slot and st.warm_until is not None and time.time() >= st.warm_until:
            st = self.retire_warm(st)
        removed = self.fleet.remove_orphans(
            self.env, {slot: occ.release for slot, occ in st.slots.items()}
        )
        for name in removed:
            self.say(f"stopped orphan instance {name}")
            self.record("instance.orphan_stopped", None, {"program": name})
        for slot, occ in st.slots.items():
            unprepared_canary = st.active and st.rollout and st.rollout.canary_slot == slot
            if unprepared_canary and not st.prepared:
                continue  # the deploy that resumes it checks it before it gets traffic
            if not self.fleet.alive(self.env, slot, occ.release):
                self.fleet.start(
                    self.env, slot, release=occ.release, release_dir=Path(occ.release_dir),
                    wheel=occ.wheel, port=occ.port, variables=occ.variables,
                )  # fmt: skip
                self.say(f"restarted {occ.release} in slot {slot}")
                self.record("instance.restarted", occ.digest, {"release": occ.release})
        self.route(st, self._canary_weight_guard(st))
        return st

    def retire_warm(self, st: EnvState) -> EnvState:
        slot = st.warm_slot
        occ = st.slots.get(slot) if slot else None
        if slot and occ:
            self.fleet.stop(self.env, slot, occ.release)
            self.say(f"retired the previous colour {occ.release} (slot {slot})")
            self.record("instance.retired", occ.digest, {"release": occ.release, "slot": slot})
        slots = {k: v for k, v in st.slots.items() if k != slot}
        st = st.evolve(slots=slots, warm_slot=None, warm_until=None)
        self.store.save(st)
        return st

    # -- begin / drive --------------------------------------------------------------------

    def begin(self, st: EnvState, req: TargetRequest) -> EnvState:
        stable = st.stable
        canary_slot = next(s for s in SLOTS if s != st.stable_slot)
        if canary_slot == st.warm_slot:
            st = self.retire_warm(st)
        if canary_slot in st.slots:  # leftover of an earlier aborted rollout
            left = st.slots[canary_slot]
            self.fleet.stop(self.env, canary_slot, left.release)
            st = st.evolve(slots={k: v for k, v in st.slots.items() if k != canary_slot})
        port = self.spec.ports[SLOTS.index(canary_slot)]
        strategy = Strategy.RECREATE if req.rollback else req.strategy
        steps = plan_steps(strategy, self.spec, req.canary_weights, stable is not None)
        rollout = RolloutState(
            env=self.env,
            strategy=str(req.strategy),
            stable_release=stable.release if stable else None,
            stable_slot=st.stable_slot,
            canary_release=req.release.id,
            canary_slot=canary_slot,
            steps=steps,
        )
        occupant = SlotOccupant(
            release=req.release.id,
            digest=req.release.digest,
            port=port,
            release_dir=str(req.release_dir),
            wheel=req.release.wheel,
            variables=dict(req.variables),
        )
        meta = {
            "actor": req.actor,
            "strategy": str(req.strategy),
            "digest": req.release.digest,
            "golden_set": str(req.golden_set) if req.golden_set else None,
            "shadow_allowance": req.shadow_allowance,
            "rollback": req.rollback,
            "previous": stable.release if stable else None,
            "started_at": time.time(),
        }
        st = st.evolve(
            slots={**st.slots, canary_slot: occupant},
            rollout=rollout,
            rollout_meta=meta,
            prepared=False,
            finished=False,
            verdict=None,
            shadow=None,
        )
        self.store.save(st)
        self.record(
            "rollout.started",
            req.release.digest,
            {
                "release": req.release.id,
                "strategy": str(req.strategy),
                "slot": canary_slot,
                "port": port,
                "stable": rollout.stable_release,
                "steps": [s.describe() for s in steps],
            },
        )
        return st

    def drive(self, st: EnvState, event: Event | None) -> tuple[EnvState, TargetOutcome]:
        """Decide, persist, act — until the rollout pauses or ends."""
        while event is not None:
            ro = st.rollout
            assert ro is not None  # noqa: S101 - drive is only called with a rollout
            t = decide(ro, event)
            st = st.evolve(rollout=t.state)
            self.store.save(st)
            if t.state.phase is Phase.ABORTED:
                self.store.clear_abort()
            digest = str(st.rollout_meta.get("digest") or "") or None
            for line in t.state.history[len(ro.history) :]:
                self.say(line)
                self.record(
                    "rollout.step",
                    digest,
                    {
                        "release": t.state.canary_release,
                        "step": line,
                        "step_index": t.state.step_index,
                        "phase": t.state.phase.value,
                        "canary_weight": t.state.canary_weight,
                    },
                )
            event = None
            for action in t.actions:
                if not t.state.terminal and not isinstance(action, StartCanary):
                    request = self.store.pending_abort()
                    if request is not None:
                        event = Abort(f"{request['reason']} (abort by {request['actor']})")
                        break
                st, event = self.act(st, action)
                if event is not None:
                    break
        return st, self.outcome(st)

    def outcome(self, st: EnvState) -> TargetOutcome:
        ro = st.rollout
        assert ro is not None  # noqa: S101
        details = {
            "phase": ro.phase.value,
            "canary_release": ro.canary_release,
            "stable_release": st.stable.release if st.stable else None,
            "verdict": st.verdict,
            "shadow": st.shadow,
        }
        if ro.phase is Phase.PAUSED:
            return TargetOutcome(True, ro.message, tuple(self.steps), paused=True, details=details)
        if ro.phase is Phase.HEALTHY:
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

    # -- actions --------------------------------------------------------------------------

    def act(self, st: EnvState, action: Action) -> tuple[EnvState, Event | None]:
        ro = st.rollout
        assert ro is not None  # noqa: S101
        match action:
            case StartCanary():
                return self.prepare(st)
            case SetWeights(canary=weight):
                canary = st.slots.get(ro.canary_slot)
                if weight > 0 and canary and not self.fleet.alive(self.env, ro.canary_slot,
                                                                   canary.release):  # fmt: skip
                    return st, Abort(f"canary {canary.release} crashed (instance not running)")
                weights = self.route(st)
                self.record(
                    "rollout.weight",
                    canary.digest if canary else None,
                    {"release": ro.canary_release, "weights": weights},
                )
                return st, (None if ro.terminal else StepDone())
            case RunAnalysis(seconds=seconds):
                return self.analyse(st, seconds)
            case WaitSeconds(seconds=seconds):
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    if self.store.pending_abort() is not None:
                        break
                    time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
                return st, StepDone()
            case WaitForPromotion(reason=reason):
                self.say(f"paused ({reason}): `riskctl promote {self.env}` or `riskctl abort`")
                return st, None
            case Finalize(release=release, slot=slot, retire_slot=retire):
                return self.finalize(st, release, slot, retire), None
            case StopCanary(slot=slot):
                return self.stop_canary(st, slot), None
        assert_never(action)

    def headers(self, occupant: SlotOccupant) -> dict[str, str]:
        if not self.spec.bearer_token:
            return {}
        if self.token is None:
            self.token = self.fleet.api_token(
                self.env, Path(occupant.release_dir), occupant.wheel, occupant.variables
            )
        return {"Authorization": f"Bearer {self.token}"}

    def prepare(self, st: EnvState) -> tuple[EnvState, Event | None]:
        """Migrations, start, readiness and smoke tests, shadow comparison (idempotent)."""
        ro = st.rollout
        assert ro is not None  # noqa: S101
        occ = st.slots[ro.canary_slot]
        self.steps.extend(self.fleet.ensure_infrastructure())
        if not st.prepared:
            try:
                out = self.fleet.migrate(Path(occ.release_dir), occ.wheel, occ.variables)
            except DeployFailedError as exc:
                return st, Abort(str(exc))
            self.say(f"migrations of {occ.release}: {out}")
            self.record("migrations.applied", occ.digest, {"release": occ.release, "output": out})
        if self.fleet.start(
            self.env, ro.canary_slot, release=occ.release, release_dir=Path(occ.release_dir),
            wheel=occ.wheel, port=occ.port, variables=occ.variables,
        ):  # fmt: skip
            self.say(f"started {occ.release} in slot {ro.canary_slot} on port {occ.port}")
        self.route(st, self._canary_weight_guard(st))
        ready = self.fleet.wait_ready(
            self.env, ro.canary_slot, release=occ.release, port=occ.port, digest=occ.digest,
            timeout=self.target.config.target.start_timeout_s,
        )  # fmt: skip
        if not ready.ok:
            return st, Abort(ready.reason)
        timeout = self.target.config.target.start_timeout_s
        if not self.fleet.wait_routable(self.env, ro.canary_slot, timeout):
            return st, Abort(f"HAProxy never saw {occ.release} healthy within {timeout:g} s")
        if st.prepared:
            return st, None
        self.say(ready.reason)
        self.record("smoke.passed", occ.digest, {"release": occ.release, "version": ready.version})
        self.warm_up(st, occ)
        stable = st.stable
        if self.spec.shadow.enabled and stable is not None:
            event = self.shadow(st, occ, stable)
            st = self.store.load()  # shadow() saved its report
            if event is not None:
                return st, event
        st = st.evolve(prepared=True)
        self.store.save(st)
        return st, None

    def shadow(self, st: EnvState, new: SlotOccupant, stable: SlotOccupant) -> Event | None:
        meta = st.rollout_meta
        path = meta.get("golden_set")
        if not path:
            return Abort("shadow comparison is enabled but no golden set is configured")
        try:
            golden = load_golden_set(Path(path))
        except GoldenSetError as exc:
            return Abort(str(exc))
        allowance = meta.get("shadow_allowance")
        shadow = self.spec.shadow
        headers = self.headers(new)
        report = run_shadow(
            golden,
            f"http://127.0.0.1:{stable.port}",
            f"http://127.0.0.1:{new.port}",
            Tolerance(rel=shadow.rel_tolerance, abs=shadow.abs_tolerance),
            allowance=allowance,
            headers=headers,
            timeout=shadow.timeout_s,
            replay_recent=shadow.replay_recent,
        )
        lines = report.lines()
        summary = {
            "passed": report.passed,
            "summary": report.summary(),
            "report": lines,
            "stable": stable.release,
            "release": new.release,
            "golden_set": golden.digest,
            "allowance": allowance,
            "breaches": len(report.breaches),
        }
        self.store.save(st.evolve(shadow=summary))
        self.record("shadow.compared", new.digest, summary)
        self.steps.extend(lines)
        if report.passed:
            return None
        return Abort(report.summary())

    def warm_up(self, st: EnvState, occ: SlotOccupant) -> None:
        """Send the golden set straight to a new instance before it is judged or shadowed.

        Every worker process loads its caches (market data, imports on first use) on its first
        requests; without this, those one-off seconds land in the canary's first analysis window
        as a latency tail that says nothing about the release. Failures here are not judged (the
        shadow comparison and the analysis do that); they are only reported.
        """
        seconds = self.spec.analysis.warmup_s
        path = st.rollout_meta.get("golden_set")
        if seconds <= 0 or not path:
            return
        try:
            golden = load_golden_set(Path(str(path)))
        except GoldenSetError as exc:
            self.say(f"no warm-up: {exc}")
            return
        bodies = [b for label, b in golden.requests() if label.endswith("/historical")]
        if not bodies:
            return
        started = time.monotonic()
        try:
            load = generate_load(
                f"http://127.0.0.1:{occ.port}{PATH}",
                bodies,
                rate=min(50.0, max(2 * len(bodies), 20) / seconds),
                seconds=seconds,
                headers=self.headers(occ),
            )
        except (ValueError, OSError) as exc:
            self.say(f"warm-up of {occ.release} did not run: {exc}")
            return
        self.say(
            f"warmed {occ.release} with {load.sent} golden-set requests in "
            f"{time.monotonic() - started:.1f} s ({load.failures} failed; not judged)"
        )

    def analyse(self, st: EnvState, seconds: float) -> tuple[EnvState, Event | None]:
        ro = st.rollout
        assert ro is not None  # noqa: S101
        canary, stable = st.slots.get(ro.canary_slot), st.stable
        if canary is None or stable is None or st.stable_slot is None:
            return st, AnalysisDone(AnalysisPhase.SUCCESSFUL, "nothing to compare with")
        stable_slot = st.stable_slot
        path = st.rollout_meta.get("golden_set")
        if not path:
            return st, Abort("analysis needs the golden set for synthetic load; none configured")
        golden = load_golden_set(Path(str(path)))
        bodies = [b for label, b in golden.requests() if label.endswith("/historical")]
        direct = ro.canary_weight == 0
        targets: str | dict[str, str]
        if direct:  # blue-green pre-promotion: both colours addressed directly
            targets = {
                ro.canary_slot: f"http://127.0.0.1:{canary.port}{PATH}",
                st.stable_slot: f"http://127.0.0.1:{stable.port}{PATH}",
            }
        else:
            targets = self.spec.url.rstrip("/") + PATH
        probe = WindowProbe(
            stats=None if direct else (lambda: self.fleet.stats(self.env)),
            canary_alive=lambda: self.fleet.alive(self.env, ro.canary_slot, canary.release),
            abort_requested=lambda: (
                None
                if (r := self.store.pending_abort()) is None
                else f"{r['reason']} (abort by {r['actor']})"
            ),
            metrics=lambda: {
                ro.canary_slot: scrape(f"http://127.0.0.1:{canary.port}/metrics"),
                stable_slot: scrape(f"http://127.0.0.1:{stable.port}/metrics"),
            },
            # Scrape targets as a Prometheus server knows them (the prometheus_url provider).
            instances={
                ro.canary_slot: f"127.0.0.1:{canary.port}",
                stable_slot: f"127.0.0.1:{stable.port}",
            },
        )
        result = run_window(
            self.spec.analysis,
            targets=targets,
            bodies=bodies,
            headers=self.headers(canary),
            canary_slot=ro.canary_slot,
            stable_slot=st.stable_slot,
            canary_share=0.5 if direct else ro.canary_weight / 100,
            real_rate=0.0 if direct else self.fleet.frontend_rate(self.env),
            probe=probe,
            seconds=seconds,
        )
        if result.aborted is not None:
            return st, Abort(result.aborted)
        verdict = result.verdict
        assert verdict is not None  # noqa: S101
        record = {
            "phase": verdict.phase.value,
            "reasons": list(verdict.reasons),
            "summary": verdict.summary(),
            "metrics": _finite(verdict.metrics),
            # The canary's requests and those the judge needed to decide (issue 13).
            "samples": {
                "canary": int(verdict.metrics.get("canary_requests", 0)),
                "needed": int(verdict.metrics.get("samples_needed", 0)),
            },
            "release": ro.canary_release,
            "baseline": stable.release,
            "canary_weight": ro.canary_weight,
            "mode": "pre-promotion (direct)" if direct else "canary (front door)",
            "synthetic_rate": round(result.synthetic_rate, 1),
            "seconds": round(result.elapsed_s, 2),
            "at": time.time(),
        }
        st = st.evolve(verdict=record)
        self.store.save(st)
        self.record("analysis.verdict", canary.digest, record)
        self.say(f"analysis at {ro.canary_weight} %: {verdict.summary()}")
        return st, AnalysisDone(verdict.phase, verdict.summary())

    def finalize(self, st: EnvState, release: str, slot: str, retire: str | None) -> EnvState:
        meta = st.rollout_meta
        new = st.slots[slot]
        keep = self.spec.keep_previous_s
        warm_slot, warm_until = None, None
        slots = dict(st.slots)
        if retire and retire in slots:
            if keep > 0:
                warm_slot, warm_until = retire, time.time() + keep
            else:
                self.fleet.stop(self.env, retire, slots[retire].release)
                self.say(f"retired {slots[retire].release} (slot {retire})")
                del slots[retire]
        st = st.evolve(
            slots=slots, stable_slot=slot, warm_slot=warm_slot, warm_until=warm_until,
            finished=True,
        )  # fmt: skip
        self.store.save(st)
        self.route(st)
        if warm_slot:
            self.say(
                f"kept {slots[warm_slot].release} warm in slot {warm_slot} for {keep:g} s "
                "(rollback is one weight change)"
            )
        details = {
            "release": release,
            "strategy": str(meta.get("strategy", "recreate")),
            "steps": list(self.steps),
            "message": f"{release} serves {self.env}",
            "previous": meta.get("previous"),
            "duration_s": round(time.time() - float(meta.get("started_at", time.time())), 2),
        }
        if meta.get("rollback"):
            self.record("rollback.performed", new.digest, {**details, "reason": "requested"})
        else:
            self.record("deploy.succeeded", new.digest, details)
        return st

    def stop_canary(self, st: EnvState, slot: str) -> EnvState:
        ro = st.rollout
        assert ro is not None  # noqa: S101
        # Did users' traffic reach the canary? Not before it was prepared (ready, smoke-tested,
        # shadowed: the weight guard holds it at 0), and only once a weight step above 0 ran.
        took_traffic = st.prepared and any(
            step.kind is StepKind.SET_WEIGHT and (step.value or 0) > 0
            for step in ro.steps[: ro.step_index + 1]
        )
        occ = st.slots.get(slot)
        if occ is not None:
            self.fleet.stop(self.env, slot, occ.release)
            self.say(f"stopped the canary {occ.release}")
        slots = {k: v for k, v in st.slots.items() if k != slot or k == st.stable_slot}
        st = st.evolve(slots=slots, finished=True)
        self.store.save(st)
        self.route(st)
        reason = ro.message.removeprefix("aborted: ")
        digest = occ.digest if occ else st.rollout_meta.get("digest")
        self.record(
            "deploy.failed",
            str(digest) if digest else None,
            {
                "release": ro.canary_release,
                "strategy": ro.strategy,
                "steps": list(self.steps),
                "message": reason,
                "verdict": st.verdict,
                "took_traffic": took_traffic,
            },
        )
        stable = st.stable
        if stable is not None:
            self.record(
                "rollback.performed",
                stable.digest,
                {
                    "release": stable.release,
                    "reason": reason,
                    "aborted": ro.canary_release,
                    "took_traffic": took_traffic,
                },
            )
        return st


def _no_sink(_action: str, _digest: str | None, _details: Mapping[str, Any]) -> None:
    return None


class RolloutTarget:
    """The deploy target of this host: the rollout controller over :class:`LocalTarget`."""

    strategies = frozenset(Strategy)

    def __init__(self, home: Path, config: DeliveryConfig, fleet: LocalTarget | None = None):
        self.home = home
        self.config = config
        self.fleet = fleet or LocalTarget(home, config)
        #: Where status-time convergence records what it did (set by the session).
        self.status_sink: EventSink = _no_sink

    def store(self, env: str) -> EnvStore:
        """The persisted state of ``env``."""
        return EnvStore(self.home / "envs", env)

    def _run(self, env: str, sink: EventSink) -> _Run:
        return _Run(self, env, self.config.environment(env), self.store(env), sink)

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
            st = run.begin(st, request)
            return run.drive(st, Start())[1]

    def _flip_back(self, run: _Run, st: EnvState, warm: SlotOccupant) -> TargetOutcome:
        """Blue-green rollback: one weight change back to the warm previous colour."""
        current = st.stable_slot
        st = st.evolve(
            stable_slot=st.warm_slot,
            warm_slot=current,
            warm_until=time.time() + run.spec.keep_previous_s,
        )
        run.store.save(st)
        weights = run.route(st)
        run.say(f"switched back to {warm.release} (weights {weights})")
        run.record("rollout.weight", warm.digest, {"release": warm.release, "weights": weights})
        run.record(
            "rollback.performed",
            warm.digest,
            {"release": warm.release, "reason": "requested", "mode": "warm colour"},
        )
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
                st = run.converge(store.load())
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
        deadline = time.monotonic() + ABORT_WAIT_S
        while time.monotonic() < deadline:
            st = store.load()
            if not st.active:
                break
            time.sleep(0.1)
        return TargetOutcome(
            True, f"rollout in {env} aborted" if not st.active else "abort requested",
            tuple(run.steps),
        )  # fmt: skip

    def status(self, env: str, port: int) -> InstanceStatus:
        """What runs in ``env``; converges first when no controller is running."""
        run = self._run(env, lambda *_: None)
        store = run.store
        busy = store.busy()
        st = store.load()
        if not busy:
            with store.locked():
                run.sink = self.status_sink
                st = run.converge(st)
        return InstanceStatus(env, st.stable.release if st.stable else None,
                              "running" if st.slots else "absent", None,
                              self._details(run, st, busy))  # fmt: skip

    def _details(self, run: _Run, st: EnvState, busy: bool) -> dict[str, Any]:
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
                "retire_in_s": round(max(0.0, (st.warm_until or 0) - time.time()), 1),
            },
            "notes": run.steps,
        }

    def last_known_good(self, env: str) -> SlotOccupant | None:
        """The stable occupant of ``env`` (hook for the daily-run guard)."""
        return self.store(env).load().stable
