"""The endpoints' shaping of audit entries and reports, from literal inputs (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from riskctl.audit.log import Problem, VerifyReport
from riskctl.dashboard.views import SUMMARY_CHARS, audit_tail, dora_series, risk_runs, verification
from riskctl.dora import DeployRecord, DoraReport


def body(seq: int, action: str, **details: Any) -> dict[str, Any]:
    return {"seq": seq, "time": f"2026-03-0{seq}T10:00:00.000000Z", "actor": "sre-1",
            "action": action, "env": "prod", "release": None, "details": details}  # fmt: skip


def test_risk_runs_newest_first_with_outcomes() -> None:
    """Attempts say whether they succeeded; the guard's entries say fell back / failed; other
    actions are left out; ``limit`` keeps the newest."""
    bodies = [
        body(1, "risk-run", release="r1", date="2026-03-01", succeeded=True, exit_code=0),
        body(2, "deploy.succeeded", release="r2"),
        body(3, "risk-run", release="r2", date="2026-03-02", succeeded=False, exit_code=1),
        body(4, "risk-run", release="r1", date="2026-03-02", succeeded=True, exit_code=0),
        body(5, "risk-run-fell_back", release="r2", date="2026-03-02", producer="r1"),
    ]
    out = risk_runs(bodies, limit=3)
    assert out["total"] == 4
    assert [(r["seq"], r["outcome"]) for r in out["runs"]] == [
        (5, "fell back"),
        (4, "succeeded"),
        (3, "failed attempt"),
    ]
    assert out["runs"][0]["producer"] == "r1"
    assert out["runs"][0]["succeeded"] is None
    assert risk_runs(bodies, limit=0)["runs"] == []


def test_audit_tail_summarises_and_bounds_details() -> None:
    """Newest first; long details are cut to SUMMARY_CHARS with an ellipsis; markup is kept as
    data (escaping is the page's job)."""
    bodies = [body(1, "release.built", release="r1", note="x" * 1000),
              body(2, "incident.opened", summary="<b>late</b>")]  # fmt: skip
    out = audit_tail(bodies, 5)
    assert out["total"] == 2
    first, second = out["entries"]
    assert first["seq"] == 2
    assert "<b>late</b>" in first["summary"]
    assert len(second["summary"]) == SUMMARY_CHARS
    assert second["summary"].endswith("…")
    assert second["release"] == "r1"
    assert [e["seq"] for e in audit_tail(bodies, 1)["entries"]] == [2]


def test_audit_tail_survives_odd_entries() -> None:
    """An entry whose details are not an object (an edited trail) still shows, without a release."""
    odd = {"seq": 1, "time": "t", "actor": "a", "action": "exec", "details": ["not", "a", "map"]}
    (entry,) = audit_tail([odd], 10)["entries"]
    assert entry["release"] is None
    assert entry["summary"] == '["not", "a", "map"]'


def test_dora_series_buckets_deploys_by_utc_day() -> None:
    """Per UTC day: succeeded deploys, those that later failed, and aborted canaries apart; lead
    times only for deploys that have one, oldest first."""
    at = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    report = DoraReport("prod", at.replace(day=1), at.replace(day=9))
    report.deploys = [
        DeployRecord("r2", at.replace(day=3, hour=9), False, "", 7200.0),
        DeployRecord("r1", at, True, "rolled back to r0: NaN", 3600.0),
        DeployRecord("r3", at.replace(day=3, hour=10), True, "aborted: error rate", None),
        DeployRecord("r4", at.replace(day=3, hour=11), False, "", None),
    ]
    out = dora_series(report)
    assert out["deploys_per_day"] == [
        {"date": "2026-03-02", "succeeded": 1, "failed": 1, "aborted": 0},
        {"date": "2026-03-03", "succeeded": 2, "failed": 0, "aborted": 1},
    ]
    assert [(x["release"], x["lead_time_s"], x["failed"]) for x in out["lead_times"]] == [
        ("r1", 3600.0, True),
        ("r2", 7200.0, False),
    ]


def test_verification_names_the_first_bad_entry() -> None:
    """A failed verification carries the CLI's wording and the first bad entry; problems are
    capped; a passing one has no error."""
    problems = tuple(Problem(s, f"entry #{s} has no valid signature") for s in range(4, 70))
    bad = verification(VerifyReport(80, 3, "ab" * 32, (Problem(None, "cp"), *problems)))
    assert bad["ok"] is False
    assert bad["first_bad_entry"] == 4
    assert bad["error"] == "audit trail TAMPERED: first bad entry #4"
    assert bad["problems_total"] == 67
    assert len(bad["problems"]) == 50
    only_checkpoints = verification(VerifyReport(3, 1, "00", (Problem(None, "bad sig"),)))
    assert only_checkpoints["error"] == "audit trail TAMPERED: checkpoints do not verify"
    good = verification(VerifyReport(3, 1, "00", ()))
    assert good["ok"] is True
    assert "error" not in good
