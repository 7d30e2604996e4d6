"""Shadow comparison decisions from literal responses, and the pinned golden set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from riskctl.shadow import Tolerance, compare_responses, load_golden_set
from riskctl.shadow.golden import GoldenSetError, generate_golden_set

ROOT = Path(__file__).resolve().parents[3]
TOL = Tolerance(rel=1e-9, abs=1e-6)


def _response(scale: float = 1.0, moved_position: float = 1.0) -> dict[str, Any]:
    return {
        "portfolio_var": 1000.0 * scale,
        "expected_shortfall": 1200.0 * scale,
        "component_var": {"A": 700.0 * scale * moved_position, "B": 300.0 * scale},
        "observations": 500,
        "version": "ignored",
        "method": "historical",
    }


def test_identical_releases_pass() -> None:
    """The same figures pass and every numeric leaf was compared."""
    old = {"p1/historical": _response(), "p2/historical": _response()}
    report = compare_responses(old, dict(old), TOL)
    assert report.passed
    assert report.compared == 2 * 5
    assert "passed" in report.summary()


def test_var_fifty_percent_higher_is_blocked_and_named() -> None:
    """VaR × 1.5 breaches; the report leads with the portfolio's headline figures."""
    old = {"p1/historical": _response(), "p2/historical": _response()}
    new = {"p1/historical": _response(1.5), "p2/historical": _response()}
    report = compare_responses(old, new, TOL)
    assert not report.passed
    assert {d.request for d in report.breaches} == {"p1/historical"}
    assert report.largest[0].field in ("portfolio_var", "expected_shortfall")
    text = "\n".join(report.lines())
    assert "BLOCKED" in text
    assert "p1/historical portfolio_var: 1,000.00 -> 1,500.00 (+50.00 %)" in text


def test_position_level_move_is_reported() -> None:
    """A single position's component moving is caught and named even if others do not move."""
    old = {"p1/historical": _response()}
    new = {"p1/historical": _response(moved_position=1.01)}
    report = compare_responses(old, new, TOL)
    assert [d.field for d in report.breaches] == ["component_var.A"]


def test_declared_model_change_allowance() -> None:
    """An approved declared impact of 60 % lets a 50 % move pass; 30 % does not."""
    old = {"p1/historical": _response()}
    new = {"p1/historical": _response(1.5)}
    assert compare_responses(old, new, TOL, allowance=0.6).passed
    blocked = compare_responses(old, new, TOL, allowance=0.3)
    assert not blocked.passed
    assert "allows up to 30 %" in blocked.summary()


def test_tiny_noise_within_tolerance() -> None:
    """Floating-point noise below the tolerance passes."""
    old = {"p/x": {"portfolio_var": 1000.0}}
    new = {"p/x": {"portfolio_var": 1000.0 + 1e-10}}
    assert compare_responses(old, new, TOL).passed


def test_failed_request_or_missing_field_blocks() -> None:
    """A request one side could not answer, or a figure that disappeared, blocks the release."""
    old = {"p/x": {"portfolio_var": 1.0, "marginal_var": {"A": 2.0}}, "q/x": {"portfolio_var": 1.0}}
    new = {"p/x": {"portfolio_var": 1.0}, "q/x": None}
    report = compare_responses(old, new, TOL)
    assert not report.passed
    assert report.failures == ("q/x (new release gave no valid answer)",)
    assert [d.field for d in report.breaches] == ["marginal_var.A"]
    assert "None" in report.breaches[0].describe()


def test_golden_set_is_pinned_and_complete() -> None:
    """The shipped golden set loads, has a zero-net book, and replays 3 methods per portfolio."""
    golden = load_golden_set(ROOT / "delivery" / "golden-set.json")
    assert "golden-zero-net" in golden.portfolios
    requests = golden.requests()
    assert len(requests) == 3 * len(golden.portfolios)
    label, body = requests[0]
    assert label.endswith("/historical")
    assert set(body["returns"]) == set(body["positions"])
    assert golden.digest.startswith("sha256:")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ('{"portfolios": {}}', "needs 'portfolios' and 'returns'"),
        ('{"portfolios": {}, "returns": {"A": [1], "B": [1, 2]}}', "unequal lengths"),
        ('{"portfolios": {"p": {"C": 1}}, "returns": {"A": [1]}}', "without returns"),
        ('{"portfolios": {}, "returns": {"A": [1, "x"]}}', "finite numbers"),
    ],
)
def test_bad_golden_sets(tmp_path: Path, content: str, message: str) -> None:
    """Malformed golden sets are refused with a clear reason."""
    path = tmp_path / "g.json"
    path.write_text(content)
    with pytest.raises(GoldenSetError, match=message):
        load_golden_set(path)
    with pytest.raises(GoldenSetError, match="cannot read"):
        load_golden_set(tmp_path / "missing.json")


def test_golden_generator_is_deterministic() -> None:
    """The generator gives identical output for the same seed (how the file was made)."""
    assert json.dumps(generate_golden_set(seed=1, n_days=50)) == json.dumps(
        generate_golden_set(seed=1, n_days=50)
    )
