"""A RolloutTarget over a FakeFleet, scripted checks and a manual clock (no processes, no HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskctl.analysis.verdict import Phase as AnalysisPhase
from riskctl.clock import ManualTicker
from riskctl.config import load_config
from riskctl.model import Release, Strategy
from riskctl.rollout.checks import CheckContext, ShadowResult
from riskctl.rollout.controller import RolloutTarget
from riskctl.rollout.envstate import EnvState, SlotOccupant
from riskctl.rollout.machine import AnalysisDone
from riskctl.rollout.reconcile import Observed
from riskctl.targets.fake import FakeFleet
from riskctl.targets.interface import TargetOutcome, TargetRequest
from tests.riskctl.progressive.conftest import progressive_policy

START = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
#: Made-up ports: nothing listens, the fake fleet only records them.
PORTS = {
    f"{env}{suffix}": 20000 + 10 * i + j
    for i, env in enumerate(("dev", "staging", "prod"))
    for j, suffix in enumerate(("", "-blue", "-green"))
}
STRATEGY = {"dev": Strategy.RECREATE, "staging": Strategy.BLUEGREEN, "prod": Strategy.CANARY}


@dataclass
class ScriptedChecks:
    """Analyses answer from a script (default: Successful); shadow passes unless told."""

    verdicts: list[AnalysisPhase] = field(default_factory=list)
    shadow_fails: bool = False
    analysed: list[int] = field(default_factory=list)  # canary weight at each analysis

    def warm_up(self, ctx: CheckContext, st: EnvState, occ: SlotOccupant) -> None:
        """Nothing to warm in a fake."""

    def shadow(
        self, ctx: CheckContext, st: EnvState, new: SlotOccupant, stable: SlotOccupant
    ) -> ShadowResult:
        """A passing (or failing) report without requests."""
        summary = {"passed": not self.shadow_fails, "summary": "scripted", "release": new.release}
        ctx.record("shadow.compared", new.digest, summary)
        return summary, ("shadow: scripted breach" if self.shadow_fails else None)

    def analyse(self, ctx: CheckContext, st: EnvState, seconds: float) -> Observed:
        """The next scripted verdict."""
        ro = st.rollout
        assert ro is not None
        self.analysed.append(ro.canary_weight)
        phase = self.verdicts.pop(0) if self.verdicts else AnalysisPhase.SUCCESSFUL
        record = {"phase": phase.value, "summary": f"scripted {phase.value}"}
        ctx.record("analysis.verdict", None, record)
        return Observed(AnalysisDone(phase, record["summary"]), verdict=record)


@dataclass
class Audit:
    """The controller's audit events, in order."""

    events: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)
    #: Called after each write (a crash point of the crash-anywhere test).
    tick: Callable[[str], None] | None = None

    def __call__(self, action: str, digest: str | None, details: Mapping[str, Any]) -> None:
        self.events.append((action, digest, dict(details)))
        if self.tick is not None:
            self.tick(f"audit {action}")

    @property
    def actions(self) -> list[str]:
        """The action names, in order."""
        return [a for a, _d, _x in self.events]


@dataclass
class Rig:
    """One private home with a fake fleet behind a real RolloutTarget."""

    home: Path
    fleet: FakeFleet
    checks: ScriptedChecks
    clock: ManualTicker
    target: RolloutTarget
    audit: Audit

    def request(self, env: str, release: str, **extra: Any) -> TargetRequest:
        """A deploy request of ``release`` with the environment's strategy."""
        rel = Release(release, f"sha256:{release}", "c0ffee", "eng", "eng@example.com", "1.0",
                      START, wheel=f"{release}.whl")  # fmt: skip
        return TargetRequest(
            env=env, release=rel, release_dir=self.home / "releases" / release,
            strategy=extra.pop("strategy", STRATEGY[env]), port=PORTS[f"{env}-blue"],
            sink=self.audit, actor="sre-1", golden_set=self.home / "golden-set.json", **extra,
        )  # fmt: skip

    def deploy(self, env: str, release: str, **extra: Any) -> TargetOutcome:
        """``riskctl deploy RELEASE --env ENV``."""
        return self.target.deploy(self.request(env, release, **extra))

    def status(self, env: str) -> dict[str, Any]:
        """``riskctl status --env ENV`` (converges first)."""
        return dict(self.target.status(env, PORTS[f"{env}-blue"]).details)

    def state(self, env: str) -> EnvState:
        """The persisted state."""
        return self.target.store(env).load()


def rig(base: Path, *, manual_pause: bool = False, pause_s: float = 0, **checks: Any) -> Rig:
    """A fresh home under ``base`` with the progressive policy (dev recreate, staging
    blue-green keeping the previous colour 30 s, prod canary 10/50/100; ``pause_s``: a timed
    pause before each analysis)."""
    base.mkdir(parents=True, exist_ok=True)
    policy = base / "policy.toml"
    text = progressive_policy(PORTS, manual_pause=manual_pause)
    if pause_s:
        text = text.replace("probe_rate = 40", f"probe_rate = 40\npause_seconds = {pause_s}")
    policy.write_text(text, encoding="utf-8")
    fleet = FakeFleet(crashing=frozenset({"crash"}))
    scripted = ScriptedChecks(**checks)
    clock = ManualTicker(START)
    config = load_config(policy).config
    target = RolloutTarget(base / "home", config, fleet, clock=clock, checks=scripted)
    audit = Audit()
    target.status_sink = audit  # what `riskctl status` converges is recorded too
    return Rig(base / "home", fleet, scripted, clock, target, audit)


def snapshot(r: Rig, env: str) -> dict[str, Any]:
    """What must be the same after any crash + status + re-run: the desired state's
    essentials and what the fleet really runs and routes."""
    st = r.state(env)
    ro = st.rollout
    return {
        "slots": {slot: occ.release for slot, occ in st.slots.items()},
        "stable": st.stable_slot,
        "warm": st.warm_slot,
        "phase": st.phase,
        "finished": st.finished,
        "rollout": (ro.canary_release, ro.phase, ro.canary_weight) if ro else None,
        "running": r.fleet.running(env),
        "weights": r.fleet.weights(env),
    }
