"""DORA metrics and incidents folded from literal audit entries (times and figures by hand)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from riskctl.dora import DEFINITIONS, dora_report
from riskctl.incidents import automatic_incident, fold_incidents

UNTIL = datetime(2026, 3, 31, 0, 0, tzinfo=UTC)


class Trail:
    """Audit entry bodies as riskctl writes them, numbered in order."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def add(self, time: str, action: str, env: str | None = None, **details: Any) -> int:
        seq = len(self.bodies) + 1
        self.bodies.append({"seq": seq, "time": time, "actor": details.pop("actor", "x"),
                            "action": action, "env": env, "release": None,
                            "details": details})  # fmt: skip
        return seq

    def opened(self, time: str, action: str, env: str, **details: Any) -> None:
        """The entry, then the incident riskctl opens for it (as Session.record does)."""
        self.add(time, action, env, **details)
        auto = automatic_incident(action, env, details)
        assert auto is not None
        self.add(time, "incident.opened", env, **auto, automatic=True)


@pytest.fixture
def trail() -> Trail:
    t = Trail()
    t.add("2026-01-05T15:00:00Z", "deploy.succeeded", "prod", release="r0")  # before the window
    t.add("2026-03-01T10:30:00Z", "release.built", release="r1",
          committed_at="2026-03-01T10:00:00+00:00", build_seconds=40.0)  # fmt: skip
    t.add("2026-03-01T12:30:00Z", "gate.result", gate="tests", release="r1",
          metrics={"coverage": 88.0})  # fmt: skip
    t.add("2026-03-02T14:00:00Z", "deploy.started", "prod", release="r1")
    t.add("2026-03-02T15:00:00Z", "deploy.succeeded", "prod", release="r1")  # lead 29 h
    t.add("2026-03-02T16:00:00Z", "deploy.succeeded", "staging", release="r1")  # other env
    t.add("2026-03-05T11:00:00Z", "release.built", release="r2",
          committed_at="2026-03-05T10:00:00+00:00", build_seconds=50.0)  # fmt: skip
    t.add("2026-03-06T15:00:00Z", "deploy.started", "prod", release="r2")
    t.add("2026-03-06T15:05:00Z", "deploy.failed", "prod", release="r2")
    t.opened("2026-03-06T15:05:00Z", "rollback.performed", "prod", release="r1",
             reason="canary error rate 20 %", aborted="r2")  # fmt: skip  # restore 5 min
    t.add("2026-03-09T11:00:00Z", "release.built", release="r3",
          committed_at="2026-03-09T10:00:00+00:00")  # fmt: skip
    t.add("2026-03-10T10:00:00Z", "deploy.succeeded", "prod", release="r3")  # lead 24 h
    t.add("2026-03-11T09:00:00Z", "risk-run", "prod", release="r3", date="2026-03-10",
          succeeded=False, seconds=60.0)  # fmt: skip  # started 08:59
    t.add("2026-03-11T09:04:00Z", "risk-run", "prod", release="r1", date="2026-03-10",
          succeeded=True, seconds=180.0)  # fmt: skip
    t.opened("2026-03-11T09:05:00Z", "risk-run-fell_back", "prod", release="r3",
             date="2026-03-10", summary="r3 failed")  # fmt: skip  # restore 6 min
    t.add("2026-03-12T10:00:00Z", "incident.opened", "prod", summary="late report",
          automatic=False, cause="manual", actor="sre-1")  # fmt: skip
    manual = len(t.bodies)
    t.add("2026-03-12T12:00:00Z", "incident.resolved", "prod", id=f"INC-{manual}",
          root_cause="slow disk", regression_test="tests/x.py::test_y")  # fmt: skip  # 2 h
    return t


def test_dora_figures_match_the_hand_computation(trail: Trail) -> None:
    """Two prod deploys and one aborted canary in 30 days: every figure as computed by hand."""
    out = dora_report(trail.bodies, "prod", until=UNTIL, days=30).as_dict()
    assert out["deployment_frequency"]["deploys"] == 2  # r1, r3 (r0 is outside the window)
    assert out["deployment_frequency"]["per_week"] == pytest.approx(7 * 2 / 30)
    assert out["deployment_frequency"]["band"].startswith("medium")
    assert out["lead_time"]["median_s"] == pytest.approx((29 + 24) / 2 * 3600)
    assert out["lead_time"]["p90_s"] == pytest.approx(29 * 3600)
    cfr = out["change_failure_rate"]
    assert (cfr["deploys"], cfr["failed"]) == (3, 2)  # r1 ok; r2 aborted; r3 fell back
    assert cfr["rate"] == pytest.approx(2 / 3)
    assert [f["release"] for f in cfr["failures"]] == ["r2", "r3"]
    assert "fell back risk run 2026-03-10" in cfr["failures"][1]["reason"]
    ttr = out["time_to_restore"]
    assert (ttr["restored"], ttr["still_open"]) == (3, 0)
    assert ttr["median_s"] == pytest.approx(360.0)  # of 300, 360 and 7,200 s
    assert ttr["max_s"] == pytest.approx(7200.0)
    assert [b["seconds"] for b in out["build_time"]] == [40.0, 50.0]
    assert [c["percent"] for c in out["coverage"]] == [88.0]
    assert out["definitions"] == DEFINITIONS


def test_manual_rollback_marks_the_replaced_deploy_failed(trail: Trail) -> None:
    """A person rolling prod back from r3 makes r3's deploy a failed change, without incident."""
    trail.add("2026-03-20T10:00:00Z", "deploy.succeeded", "prod", release="r4")
    trail.add("2026-03-20T11:00:00Z", "rollback.performed", "prod", release="r3",
              reason="requested")  # fmt: skip
    out = dora_report(trail.bodies, "prod", until=UNTIL, days=30).as_dict()
    assert out["change_failure_rate"]["failures"][-1]["release"] == "r4"
    assert "rolled back to r3" in out["change_failure_rate"]["failures"][-1]["reason"]
    assert automatic_incident("rollback.performed", "prod", {"reason": "requested"}) is None


def test_an_empty_trail_gives_no_figures_not_zeroes() -> None:
    """Nothing deployed: rates and medians are None (n/a), never a flattering 0."""
    out = dora_report([], "prod", until=UNTIL, days=7).as_dict()
    assert out["change_failure_rate"]["rate"] is None
    assert out["lead_time"]["median_s"] is None
    assert out["time_to_restore"]["median_s"] is None
    assert out["deployment_frequency"]["band"].startswith("low")


def test_incidents_fold_with_impact_start_and_restoration(trail: Trail) -> None:
    """Automatic incidents start at the failed deploy or run; a failed run stays open until a
    later good run restores it; a person's abort opens nothing."""
    trail.opened("2026-03-25T09:00:00Z", "risk-run-failed", "prod", release="r3",
                 date="2026-03-24", summary="no release produced it")  # fmt: skip
    incidents = fold_incidents(trail.bodies)
    causes = [i.cause for i in incidents]
    assert causes == ["rollback.performed", "risk-run-fell_back", "manual", "risk-run-failed"]
    rollback, fallback, manual, failed = incidents
    assert rollback.release == "r2"
    assert rollback.restore_seconds == pytest.approx(300)
    assert fallback.restore_seconds == pytest.approx(360)
    assert manual.root_cause == "slow disk"
    assert not manual.open
    assert failed.open
    assert failed.restore_seconds is None
    trail.add("2026-03-25T10:00:00Z", "risk-run", "prod", release="r1", date="2026-03-24",
              succeeded=True, seconds=60.0)  # fmt: skip
    failed = fold_incidents(trail.bodies)[-1]
    assert failed.open  # restored, but nobody has resolved it yet
    assert failed.restore_seconds == pytest.approx(3600)
    aborted = {"reason": "operator says no (abort by sre-1)", "aborted": "r9"}
    assert automatic_incident("rollback.performed", "prod", aborted) is None
    assert automatic_incident("deploy.succeeded", "prod", {}) is None


def test_a_release_stopped_before_any_traffic_is_no_deploy_and_no_incident(trail: Trail) -> None:
    """Blocked by the shadow comparison or crashed on start (took_traffic false): a failed
    deploy, but neither a failed change in DORA's sense nor an incident."""
    before = dora_report(trail.bodies, "prod", until=UNTIL, days=30).as_dict()
    details = {"release": "r3", "reason": "shadow comparison BLOCKED", "aborted": "r5",
               "took_traffic": False}  # fmt: skip
    assert automatic_incident("rollback.performed", "prod", details) is None
    trail.add("2026-03-21T10:00:00Z", "rollback.performed", "prod", **details)
    after = dora_report(trail.bodies, "prod", until=UNTIL, days=30).as_dict()
    assert after["change_failure_rate"] == before["change_failure_rate"]
    assert len(fold_incidents(trail.bodies)) == len(fold_incidents(trail.bodies[:-1]))
