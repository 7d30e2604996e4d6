"""What the controller measures about a new instance: warm-up, shadow comparison, analysis.

These talk to the instances over HTTP (golden-set requests, Prometheus metrics, load through the
front door), so they sit behind the small :class:`Checks` interface: the executor calls
:class:`ServiceChecks` for real, and fast tests pass scripted checks over a
:class:`~riskctl.targets.fake.FakeFleet`. Each returns what it found; none persists anything
(the executor's reconcile step does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from riskctl.analysis.phase import Phase as AnalysisPhase
from riskctl.audit.actions import Action
from riskctl.clock import Ticker
from riskctl.config import Environment
from riskctl.riskclient import METRICS, PORTFOLIO_VAR, instance_url, url
from riskctl.rollout.envstate import EnvState, SlotOccupant
from riskctl.rollout.machine import Abort, AnalysisDone
from riskctl.rollout.reconcile import Observed
from riskctl.targets.fleet import Fleet

__all__ = ["CheckContext", "Checks", "ServiceChecks", "ShadowResult"]


class CheckContext(Protocol):
    """What a check needs from the executor running it."""

    env: str
    spec: Environment
    fleet: Fleet
    clock: Ticker

    def say(self, line: str) -> None: ...

    def record(self, action: str, digest: str | None, details: Mapping[str, Any]) -> None: ...

    def headers(self, occupant: SlotOccupant) -> dict[str, str]: ...

    def abort_reason(self) -> str | None: ...


#: A shadow comparison's report for the state (or None when none ran) and, when it failed,
#: the reason to abort.
ShadowResult = tuple[Mapping[str, Any] | None, str | None]


class Checks(Protocol):
    """Measurements of a new instance, each returning what it found."""

    def warm_up(self, ctx: CheckContext, st: EnvState, occ: SlotOccupant) -> None:
        """Send it some requests before it is judged (never judged itself)."""
        ...

    def shadow(
        self, ctx: CheckContext, st: EnvState, new: SlotOccupant, stable: SlotOccupant
    ) -> ShadowResult:
        """Compare its answers with the stable release's on the golden set."""
        ...

    def analyse(self, ctx: CheckContext, st: EnvState, seconds: float) -> Observed:
        """Compare canary with stable for ``seconds``: AnalysisDone (with the verdict) or Abort."""
        ...


def _finite(metrics: Mapping[str, float]) -> dict[str, float | None]:
    return {k: (round(v, 6) if math.isfinite(v) else None) for k, v in metrics.items()}


class ServiceChecks:
    """The real checks: golden-set HTTP requests, metrics scrapes and generated load."""

    def warm_up(self, ctx: CheckContext, st: EnvState, occ: SlotOccupant) -> None:
        """Send the golden set straight to a new instance before it is judged or shadowed.

        Every worker process loads its caches (market data, imports on first use) on its first
        requests; without this, those one-off seconds land in the canary's first analysis window
        as a latency tail that says nothing about the release. Failures here are not judged (the
        shadow comparison and the analysis do that); they are only reported.
        """
        from riskctl.analysis.load import generate_load  # noqa: PLC0415 - load, scrapes, shadow: not on abort's path
        from riskctl.shadow.golden import GoldenSetError, load_golden_set  # noqa: PLC0415

        seconds = ctx.spec.analysis.warmup_s
        path = st.rollout_meta.get("golden_set")
        if seconds <= 0 or not path:
            return
        try:
            golden = load_golden_set(Path(str(path)))
        except GoldenSetError as exc:
            ctx.say(f"no warm-up: {exc}")
            return
        bodies = [b for label, b in golden.requests() if label.endswith("/historical")]
        if not bodies:
            return
        started = ctx.clock.monotonic()
        try:
            load = generate_load(
                url(instance_url(occ.port), PORTFOLIO_VAR),
                bodies,
                rate=min(50.0, max(2 * len(bodies), 20) / seconds),
                seconds=seconds,
                headers=ctx.headers(occ),
            )
        except (ValueError, OSError) as exc:
            ctx.say(f"warm-up of {occ.release} did not run: {exc}")
            return
        ctx.say(
            f"warmed {occ.release} with {load.sent} golden-set requests in "
            f"{ctx.clock.monotonic() - started:.1f} s ({load.failures} failed; not judged)"
        )

    def shadow(
        self, ctx: CheckContext, st: EnvState, new: SlotOccupant, stable: SlotOccupant
    ) -> ShadowResult:
        """The golden set against both releases, within the configured tolerance."""
        from riskctl.shadow.compare import Tolerance  # noqa: PLC0415 - load, scrapes, shadow: not on abort's path
        from riskctl.shadow.golden import GoldenSetError, load_golden_set  # noqa: PLC0415
        from riskctl.shadow.runner import run_shadow  # noqa: PLC0415

        meta = st.rollout_meta
        path = meta.get("golden_set")
        if not path:
            return None, "shadow comparison is enabled but no golden set is configured"
        try:
            golden = load_golden_set(Path(path))
        except GoldenSetError as exc:
            return None, str(exc)
        allowance = meta.get("shadow_allowance")
        shadow = ctx.spec.shadow
        report = run_shadow(
            golden,
            instance_url(stable.port),
            instance_url(new.port),
            Tolerance(rel=shadow.rel_tolerance, abs=shadow.abs_tolerance),
            allowance=allowance,
            headers=ctx.headers(new),
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
        ctx.record(Action.SHADOW_COMPARED, new.digest, summary)
        for line in lines:
            ctx.say(line)
        return summary, (None if report.passed else report.summary())

    def analyse(self, ctx: CheckContext, st: EnvState, seconds: float) -> Observed:
        """One analysis window: canary against stable, through the front door or directly."""
        from riskctl.analysis.prometheus import scrape  # noqa: PLC0415 - load, scrapes, shadow: not on abort's path
        from riskctl.analysis.runner import WindowProbe, run_window  # noqa: PLC0415
        from riskctl.shadow.golden import load_golden_set  # noqa: PLC0415

        ro = st.rollout
        assert ro is not None  # noqa: S101 - analysis runs only in a rollout
        canary, stable = st.slots.get(ro.canary_slot), st.stable
        if canary is None or stable is None or st.stable_slot is None:
            return Observed(AnalysisDone(AnalysisPhase.SUCCESSFUL, "nothing to compare with"))
        stable_slot = st.stable_slot
        path = st.rollout_meta.get("golden_set")
        if not path:
            reason = "analysis needs the golden set for synthetic load; none configured"
            return Observed(Abort(reason))
        golden = load_golden_set(Path(str(path)))
        bodies = [b for label, b in golden.requests() if label.endswith("/historical")]
        direct = ro.canary_weight == 0
        targets: str | dict[str, str]
        if direct:  # blue-green pre-promotion: both colours addressed directly
            targets = {
                ro.canary_slot: url(instance_url(canary.port), PORTFOLIO_VAR),
                stable_slot: url(instance_url(stable.port), PORTFOLIO_VAR),
            }
        else:
            targets = url(ctx.spec.url, PORTFOLIO_VAR)
        fleet, env = ctx.fleet, ctx.env
        probe = WindowProbe(
            stats=None if direct else (lambda: fleet.stats(env)),
            canary_alive=lambda: fleet.alive(env, ro.canary_slot, canary.release),
            abort_requested=ctx.abort_reason,
            metrics=lambda: {
                ro.canary_slot: scrape(url(instance_url(canary.port), METRICS)),
                stable_slot: scrape(url(instance_url(stable.port), METRICS)),
            },
            # Scrape targets as a Prometheus server knows them (the prometheus_url provider).
            instances={
                ro.canary_slot: f"127.0.0.1:{canary.port}",
                stable_slot: f"127.0.0.1:{stable.port}",
            },
        )
        result = run_window(
            ctx.spec.analysis,
            targets=targets,
            bodies=bodies,
            headers=ctx.headers(canary),
            canary_slot=ro.canary_slot,
            stable_slot=stable_slot,
            canary_share=0.5 if direct else ro.canary_weight / 100,
            real_rate=0.0 if direct else fleet.frontend_rate(env),
            probe=probe,
            seconds=seconds,
        )
        if result.aborted is not None:
            return Observed(Abort(result.aborted))
        verdict = result.verdict
        assert verdict is not None  # noqa: S101 - a window that did not abort has a verdict
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
            "at": ctx.clock.now().timestamp(),
        }
        ctx.record(Action.ANALYSIS_VERDICT, canary.digest, record)
        ctx.say(f"analysis at {ro.canary_weight} %: {verdict.summary()}")
        return Observed(AnalysisDone(verdict.phase, verdict.summary()), verdict=record)
