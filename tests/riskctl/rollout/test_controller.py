"""The rollout controller over a FakeFleet: every strategy and transition, fast and in memory.

The fake refuses any routing change that puts weight on a slot whose instance is not running,
so each test below also shows that no request is ever routed to a stopped instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from riskctl.analysis.verdict import Phase as AnalysisPhase
from riskctl.errors import UsageError
from riskctl.rollout.envstate import EnvPhase
from riskctl.rollout.state import Phase
from riskctl.router.interface import RouterError
from tests.riskctl.rollout.fakes import rig


def _green_weights(routed: list[tuple[str, dict[str, int]]], env: str) -> list[int]:
    """The distinct successive weights of the green slot in ``env``."""
    out: list[int] = []
    for e, weights in routed:
        w = weights.get("green", 0)
        if e == env and (not out or out[-1] != w):
            out.append(w)
    return out


def test_canary_walks_its_weights_then_retires_the_old_release(tmp_path: Path) -> None:
    """prod canary: 10 → 50 → 100 with an analysis after each; v1 stopped at the end."""
    r = rig(tmp_path)
    assert r.deploy("prod", "v1").ok
    out = r.deploy("prod", "v2")
    assert out.ok, out.message
    assert r.checks.analysed == [10, 50]
    assert _green_weights(r.fleet.routed, "prod") == [0, 10, 50, 100]
    assert r.fleet.running("prod") == {"green": "v2"}
    assert r.fleet.weights("prod") == {"blue": 0, "green": 100}
    st = r.state("prod")
    assert (st.phase, st.finished, st.stable_slot) == (EnvPhase.HEALTHY, True, "green")
    assert r.audit.actions.count("deploy.succeeded") == 2
    assert r.fleet.migrated == ["v1.whl", "v2.whl"]


def test_failed_analysis_aborts_weight_first_and_stable_keeps_serving(tmp_path: Path) -> None:
    """A failed analysis at 10 % takes the canary's weight away, stops it, records why."""
    r = rig(tmp_path, verdicts=[AnalysisPhase.FAILED])
    r.deploy("prod", "v1")
    out = r.deploy("prod", "v2")
    assert not out.ok
    assert out.rolled_back
    assert "v1 keeps serving prod" in out.message
    assert r.fleet.running("prod") == {"blue": "v1"}
    assert r.fleet.weights("prod") == {"blue": 100, "green": 0}
    st = r.state("prod")
    assert st.rollout is not None
    assert st.rollout.phase is Phase.ABORTED
    assert st.phase is EnvPhase.HEALTHY
    failed = [d for a, _g, d in r.audit.events if a == "deploy.failed"]
    assert failed[-1]["took_traffic"] is True
    assert r.audit.actions[-2:] == ["deploy.failed", "rollback.performed"]


def test_a_release_that_crashes_on_start_never_takes_traffic(tmp_path: Path) -> None:
    """The canary that never becomes ready is aborted at weight 0; it took no traffic."""
    r = rig(tmp_path)
    r.deploy("prod", "v1")
    out = r.deploy("prod", "crash")
    assert not out.ok
    assert "crashed on start" in out.message
    assert _green_weights(r.fleet.routed, "prod") == [0]
    failed = [d for a, _g, d in r.audit.events if a == "deploy.failed"]
    assert failed[-1]["took_traffic"] is False


def test_failed_shadow_comparison_aborts_before_any_weight(tmp_path: Path) -> None:
    """A shadow breach aborts while the canary still has weight 0; its report is persisted."""
    r = rig(tmp_path)
    r.deploy("staging", "v1")
    r.checks.shadow_fails = True
    out = r.deploy("staging", "v2")
    assert not out.ok
    assert r.state("staging").shadow == {"passed": False, "summary": "scripted",
                                         "release": "v2"}  # fmt: skip
    assert _green_weights(r.fleet.routed, "staging") == [0]


def test_bluegreen_keeps_the_previous_colour_warm_and_flips_back(tmp_path: Path) -> None:
    """staging: pre-promotion analysis at weight 0, then 100 %; rollback is one weight change."""
    r = rig(tmp_path)
    r.deploy("staging", "v1")
    assert r.deploy("staging", "v2").ok
    assert r.checks.analysed == [0]
    assert r.fleet.running("staging") == {"blue": "v1", "green": "v2"}
    assert r.fleet.weights("staging") == {"blue": 0, "green": 100}
    starts = len([c for c in r.fleet.calls if c.startswith("start")])
    back = r.deploy("staging", "v1", rollback=True)
    assert back.ok, back.message
    assert back.message == "v1 serves staging again"
    assert r.fleet.weights("staging") == {"blue": 100, "green": 0}
    assert len([c for c in r.fleet.calls if c.startswith("start")]) == starts  # nothing started


def test_warm_colour_retires_when_its_time_is_up(tmp_path: Path) -> None:
    """After keep_previous_s on the injected clock, status stops the previous colour."""
    r = rig(tmp_path)
    r.deploy("staging", "v1")
    r.deploy("staging", "v2")
    r.status("staging")
    assert r.fleet.running("staging") == {"blue": "v1", "green": "v2"}
    r.clock.sleep(31)
    r.status("staging")
    assert r.fleet.running("staging") == {"green": "v2"}
    assert "instance.retired" in r.audit.actions
    assert r.state("staging").warm_slot is None


def test_manual_pause_waits_for_promote_and_abort_reverts(tmp_path: Path) -> None:
    """A manual pause after 10 % holds; promote continues; abort of a second one reverts."""
    r = rig(tmp_path, manual_pause=True)
    r.deploy("prod", "v1")
    paused = r.deploy("prod", "v2")
    assert paused.paused
    assert r.state("prod").phase is EnvPhase.PAUSED
    assert r.fleet.weights("prod") == {"blue": 90, "green": 10}
    again = r.deploy("prod", "v2")  # re-running a paused deploy only reports
    assert again.paused
    done = r.target.promote("prod", "sre-1", r.audit)
    assert done.ok
    assert r.fleet.weights("prod") == {"blue": 0, "green": 100}
    assert r.deploy("prod", "v3").paused
    with pytest.raises(UsageError, match="in progress"):
        r.deploy("prod", "v4")
    out = r.target.abort("prod", "looks wrong", "sre-1", r.audit)
    assert not out.ok
    assert r.fleet.running("prod") == {"green": "v2"}
    assert r.fleet.weights("prod") == {"blue": 0, "green": 100}


def test_abort_of_a_paused_rollout_sets_the_canary_to_zero_first(tmp_path: Path) -> None:
    """`riskctl abort` of a paused canary: its first fleet call is the canary's weight to 0,
    made once Aborting is persisted and before any housekeeping; the canary is then stopped."""
    r = rig(tmp_path, manual_pause=True)
    r.deploy("prod", "v1")
    assert r.deploy("prod", "v2").paused
    before = len(r.fleet.calls)
    seen: list[tuple[EnvPhase | None, dict[str, int]]] = []
    route = r.fleet.route

    def spy(env: str, occupants: Mapping[str, int], weights: Mapping[str, int]) -> None:
        seen.append((r.state(env).phase, dict(weights)))
        route(env, occupants, weights)

    r.fleet.route = spy  # type: ignore[method-assign]
    recorded = len(r.audit.actions)
    out = r.target.abort("prod", "looks wrong", "sre-1", r.audit)
    assert not out.ok
    assert "looks wrong" in out.message
    assert r.fleet.calls[before] == "route prod {'blue': 100, 'green': 0}"
    assert seen[0] == (EnvPhase.ABORTING, {"blue": 100, "green": 0})
    assert r.fleet.running("prod") == {"blue": "v1"}
    assert r.state("prod").phase is EnvPhase.HEALTHY
    # The weight change is recorded first; the step note and the outcome follow it.
    assert r.audit.actions[recorded:] == [
        "rollout.weight", "rollout.step", "deploy.failed", "rollback.performed",
    ]  # fmt: skip


def test_abort_completes_when_the_front_door_did_not_answer_at_first(tmp_path: Path) -> None:
    """If the first weight change fails (HAProxy down: no traffic flows), the persisted
    Aborting state is completed by the converge that follows: canary 0 and stopped."""
    r = rig(tmp_path, manual_pause=True)
    r.deploy("prod", "v1")
    assert r.deploy("prod", "v2").paused
    route = r.fleet.route
    failures = [RouterError("HAProxy admin socket: connection refused")]

    def flaky(env: str, occupants: Mapping[str, int], weights: Mapping[str, int]) -> None:
        if failures:
            raise failures.pop()
        route(env, occupants, weights)

    r.fleet.route = flaky  # type: ignore[method-assign]
    out = r.target.abort("prod", "looks wrong", "sre-1", r.audit)
    assert not out.ok
    assert any("did not answer" in step for step in out.steps)
    assert r.fleet.weights("prod") == {"blue": 100, "green": 0}
    assert r.fleet.running("prod") == {"blue": "v1"}
    assert r.state("prod").phase is EnvPhase.HEALTHY


def test_status_restarts_a_stable_instance_found_down_and_removes_orphans(
    tmp_path: Path,
) -> None:
    """A stable instance that died is restarted; an instance nobody wants is stopped."""
    r = rig(tmp_path)
    r.deploy("dev", "v1")
    r.fleet.kill("dev", "blue")  # supervisord lost it (the door still points at it)
    r.fleet.start("dev", "green", release="stray", release_dir=tmp_path, wheel="w", port=1,
                  variables={})  # fmt: skip
    details = r.status("dev")
    assert r.fleet.running("dev") == {"blue": "v1"}
    assert details["slots"]["blue"]["running"] is True
    assert {"instance.restarted", "instance.orphan_stopped"} <= set(r.audit.actions)


def test_inconclusive_analysis_pauses_until_promoted(tmp_path: Path) -> None:
    """Inconclusive at 10 % pauses with 10 % still routed; promote continues to the end."""
    r = rig(tmp_path, verdicts=[AnalysisPhase.INCONCLUSIVE])
    r.deploy("prod", "v1")
    out = r.deploy("prod", "v2")
    assert out.paused
    assert r.fleet.weights("prod") == {"blue": 90, "green": 10}
    with pytest.raises(UsageError, match="nothing to promote in staging"):
        r.target.promote("staging", "sre-1", r.audit)
    assert r.target.promote("prod", "sre-1", r.audit).ok
    assert r.checks.analysed == [10, 50]
    assert r.fleet.running("prod") == {"green": "v2"}


def test_failed_migrations_abort_before_the_instance_starts(tmp_path: Path) -> None:
    """Migrations that fail abort the rollout; nothing of the new release ever runs."""
    r = rig(tmp_path)
    r.deploy("prod", "v1")
    r.fleet.migrations_fail = frozenset({"v2.whl"})
    out = r.deploy("prod", "v2")
    assert not out.ok
    assert "migrations failed" in out.message
    assert not [c for c in r.fleet.calls if c.startswith("start prod green")]
    assert r.fleet.running("prod") == {"blue": "v1"}


def test_abort_requested_by_another_process_is_taken_before_the_next_step(
    tmp_path: Path,
) -> None:
    """A pending `riskctl abort` (written while the analysis ran) stops the rollout before the
    next weight; the request is cleared once the abort is persisted."""
    r = rig(tmp_path)
    r.deploy("prod", "v1")
    store = r.target.store("prod")
    analyse = r.checks.analyse

    def analyse_then_abort(ctx: object, st: object, seconds: float) -> object:
        store.request_abort("latency", "sre-2")
        return analyse(ctx, st, seconds)  # type: ignore[arg-type]

    r.checks.analyse = analyse_then_abort  # type: ignore[method-assign]
    out = r.deploy("prod", "v2")
    assert not out.ok
    assert "latency (abort by sre-2)" in out.message
    assert _green_weights(r.fleet.routed, "prod") == [0, 10, 0]
    assert store.pending_abort() is None
    assert r.fleet.running("prod") == {"blue": "v1"}
