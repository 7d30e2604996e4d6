"""Replayed recent requests in the shadow report, decided from literal answers."""

from __future__ import annotations

from typing import Any

from riskctl.shadow import Answer, Tolerance, compare_replay, compare_responses
from riskctl.shadow.compare import is_recent

TOL = Tolerance(rel=1e-9, abs=1e-6)


def _golden(scale: float = 1.0) -> Any:
    """A golden-set report over two cases, the new side scaled by ``scale``."""
    old = {"g1/historical": {"portfolio_var": 1000.0}, "g2/historical": {"portfolio_var": 10.0}}
    new = {k: {"portfolio_var": v["portfolio_var"] * scale} for k, v in old.items()}
    return compare_responses(old, new, TOL)


def _ok(var: float) -> Answer:
    return Answer(200, {"var": var, "es": var * 1.2, "observations": 8, "method": "historical"})


def test_identical_replay_passes_and_is_counted_apart() -> None:
    """Replayed answers that agree pass; the summary counts golden and recent cases apart."""
    old = {f"recent-{n}": _ok(100.0 + n) for n in range(1, 4)}
    report = compare_replay(_golden(), old, dict(old), TOL)
    assert report.passed
    assert (report.requests, report.replayed) == (5, 3)
    assert report.compared == 2 + 3 * 3
    assert "5 requests (2 golden-set, 3 recent replayed)" in report.summary()
    assert "  recent requests: 3 replayed, 0 beyond tolerance" in report.lines()


def test_a_recent_request_that_moves_is_blocked_and_listed_apart() -> None:
    """VaR × 1.5 on a replayed request blocks, listed under the recent requests' own heading."""
    old = {"recent-1": _ok(100.0), "recent-2": _ok(50.0)}
    new = {"recent-1": _ok(150.0), "recent-2": _ok(50.0)}
    report = compare_replay(_golden(), old, new, TOL)
    assert not report.passed
    assert {d.request for d in report.breaches} == {"recent-1"}
    lines = report.lines()
    assert "  recent requests: 2 replayed, 1 beyond tolerance" in lines
    heading = lines.index("  largest moves (recent requests):")
    assert "    recent-1 var: 100.00 -> 150.00 (+50.00 %)" in lines[heading + 1 : heading + 3]
    assert "  largest moves (golden set):" not in lines


def test_golden_and_recent_moves_are_reported_under_separate_headings() -> None:
    """With both moving, golden-set cases and recent requests each get their own list."""
    report = compare_replay(_golden(1.5), {"recent-1": _ok(100.0)}, {"recent-1": _ok(150.0)}, TOL)
    lines = report.lines()
    golden_at = lines.index("  largest moves (golden set):")
    recent_at = lines.index("  largest moves (recent requests):")
    assert all(not is_recent(line.split()[0]) for line in lines[golden_at + 1 : recent_at - 1])
    assert lines[recent_at + 1].split()[:2] in (["recent-1", "var:"], ["recent-1", "es:"])


def test_stable_error_new_success_is_a_difference() -> None:
    """Stable refused, new answered 200: a difference naming both statuses (and vice versa)."""
    for old, new, text in [
        (Answer(422), _ok(1.0), "stable release HTTP 422, new release HTTP 200"),
        (_ok(1.0), Answer(500), "stable release HTTP 200, new release HTTP 500"),
        (_ok(1.0), Answer(0), "new release no answer"),
    ]:
        report = compare_replay(
            _golden(), {"recent-1": old}, {"recent-1": new}, TOL,
            requests={"recent-1": "POST /v1/var"},
        )  # fmt: skip
        assert not report.passed
        assert len(report.failures) == 1
        assert report.failures[0].startswith("recent-1 (POST /v1/var): ")
        assert text in report.failures[0]


def test_both_refusing_alike_is_agreement() -> None:
    """The same error from both releases is no difference; it is counted in the report."""
    report = compare_replay(_golden(), {"recent-1": Answer(422)}, {"recent-1": Answer(422)}, TOL)
    assert report.passed
    assert report.replay_agreed_errors == 1
    assert "1 refused alike by both releases" in "\n".join(report.lines())
    differ = compare_replay(_golden(), {"recent-1": Answer(422)}, {"recent-1": Answer(503)}, TOL)
    assert not differ.passed


def test_a_success_without_json_object_is_no_valid_answer() -> None:
    """A 200 without a JSON object cannot be compared: a difference against a real answer."""
    report = compare_replay(_golden(), {"recent-1": _ok(1.0)}, {"recent-1": Answer(200)}, TOL)
    assert not report.passed
    assert "HTTP 200 without a JSON object" in report.failures[0]


def test_declared_allowance_covers_replayed_requests_too() -> None:
    """An approved 60 % model change lets a 50 % move on a recent request through."""
    golden = compare_responses(
        {"g/h": {"portfolio_var": 1.0}}, {"g/h": {"portfolio_var": 1.5}}, TOL, allowance=0.6
    )
    report = compare_replay(golden, {"recent-1": _ok(100.0)}, {"recent-1": _ok(150.0)}, TOL)
    assert report.passed
    assert report.allowance == 0.6


def test_nothing_to_replay_keeps_the_golden_verdict_with_a_note() -> None:
    """No recent requests: the golden-set verdict stands and the summary says why."""
    note = "no recent requests to replay (the stable release has no endpoint: an older release)"
    report = compare_replay(_golden(), {}, {}, TOL, note=note)
    assert report.passed
    assert report.replayed == 0
    assert report.summary().endswith("; " + note)
    assert report.lines()[0] == report.summary()
    blocked = compare_replay(_golden(1.5), {}, {}, TOL, note=note)
    assert not blocked.passed


def test_recent_labels_are_recognised_and_ordered_by_number() -> None:
    """recent-<n> labels are recent requests; golden labels are not; recent-2 precedes recent-10."""
    assert is_recent("recent-12")
    assert not is_recent("recent-1/historical")
    assert not is_recent("golden-1/historical")
    answers = {f"recent-{n}": Answer(400 + n) for n in (10, 2)}
    report = compare_replay(_golden(), answers, {k: _ok(1.0) for k in answers}, TOL)
    assert [f.split(":")[0] for f in report.failures] == ["recent-2", "recent-10"]
