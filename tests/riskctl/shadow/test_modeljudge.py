"""The model-change judge: verdicts from literal backtests, the replay boundary, the approval."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from riskctl.shadow.modeljudge import (
    approval_check,
    judge,
    render,
    rtpl_comparison,
    run_backtest,
)

RTPL = [float((k * 37) % 23 - 11) for k in range(250)]


def backtest(
    zone: str = "green",
    exceptions: int = 2,
    pla: str = "green",
    desks_pla: tuple[str, ...] = ("green", "green"),
    rtpl: list[float] | None = None,
) -> dict[str, Any]:
    """A backtest as `risk-service backtest` prints it (the fields the judge reads)."""
    return {
        "days": 250,
        "window": 250,
        "first_day": "2025-11-25",
        "as_of": "2026-11-24",
        "positions_date": "2026-11-25",
        "bank": {
            "exceptions_99": exceptions,
            "exceptions_975": 2 * exceptions,
            "traffic_light": zone,
            "kupiec_p_value": 0.5,
            "christoffersen_p_value_ind": 0.7,
            "christoffersen_p_value_cc": 0.6,
            "z2": -0.1,
            "z2_p_value": 0.4,
            "pla_spearman": 1.0,
            "pla_ks": 0.0,
            "pla_zone": pla,
            "hpl": RTPL,
            "rtpl": rtpl if rtpl is not None else RTPL,
        },
        "desks": {
            f"D{i}": {"traffic_light": "green", "desk_eligible": True, "pla_zone": z}
            for i, z in enumerate(desks_pla)
        },
    }


def test_same_zone_and_pla_passes_with_the_table() -> None:
    """Green stays green and PLA stays green: passed, with every side-by-side row."""
    j = judge("rel-new", "rel-old", backtest(exceptions=2), backtest(exceptions=3))
    assert not j.blocked
    assert j.verdict == "passed"
    rows = {r.metric: (r.stable, r.new) for r in j.rows}
    assert rows["bank: VaR 99 % exceptions"] == ("2", "3")
    assert rows["bank: traffic-light zone"] == ("green", "green")
    assert rows["bank: Kupiec POF p-value"] == ("0.5000", "0.5000")
    assert rows["bank: Acerbi–Székely Z2"] == ("-0.1000", "-0.1000")
    assert rows["bank: PLA zone"] == ("green", "green")
    assert j.window["days"] == 250


def test_green_to_yellow_is_blocked_as_amber() -> None:
    """A model that moves the bank from green to yellow (amber) is blocked, naming both zones."""
    j = judge("rel-new", "rel-old", backtest(), backtest(zone="yellow", exceptions=7))
    assert j.blocked
    assert j.reasons == ("the bank's traffic light would move from green to yellow (amber)",)
    assert "BLOCKED" in j.summary()


@pytest.mark.parametrize(
    ("old", "new"), [("yellow", "yellow"), ("red", "yellow"), ("yellow", "green")]
)
def test_same_or_better_zone_is_not_blocked(old: str, new: str) -> None:
    """Only a worse zone blocks: staying put or improving passes."""
    assert not judge("n", "o", backtest(zone=old), backtest(zone=new)).blocked


def test_failing_pla_is_blocked() -> None:
    """The bank book in the PLA red zone, or more desks in it, block the change."""
    bank_red = judge("n", "o", backtest(), backtest(pla="red"))
    assert bank_red.reasons == ("the new model fails PLA on the bank book (red zone)",)
    desks_red = judge("n", "o", backtest(), backtest(desks_pla=("green", "red")))
    assert desks_red.reasons == ("desks in the PLA red zone would rise from 0 to 1",)
    same_red = judge("n", "o", backtest(desks_pla=("red",)), backtest(desks_pla=("red",)))
    assert not same_red.blocked


def test_missing_evidence_fails_closed() -> None:
    """A replay that failed (either side) blocks: no evidence is no approval."""
    failed = judge("n", "o", backtest(), None, errors={"new release n": "exited 1: boom"})
    assert failed.blocked
    assert failed.reasons == ("no evidence: new release n: exited 1: boom",)
    no_stable = judge("n", "o", None, backtest())
    assert no_stable.blocked
    assert no_stable.reasons == ("no evidence: no backtest evidence could be formed",)


def test_without_a_stable_release_the_baseline_is_green() -> None:
    """First model in an environment: judged against a green bank with no PLA failure."""
    assert not judge("n", None, None, backtest()).blocked
    assert judge("n", None, None, backtest(zone="yellow")).blocked


def test_rtpl_against_stable_equals_scipy() -> None:
    """The new RTPL against the stable one: scipy's Spearman and two-sample KS."""
    shifted = [x * 1.3 + 2.0 for x in RTPL]
    j = judge("n", "o", backtest(), backtest(rtpl=shifted))
    assert j.rtpl_vs_stable["spearman"] == pytest.approx(
        stats.spearmanr(RTPL, shifted).statistic, rel=1e-12
    )
    assert j.rtpl_vs_stable["ks"] == pytest.approx(stats.ks_2samp(RTPL, shifted).statistic)
    assert rtpl_comparison([1.0, 2.0], [1.0, 2.0]) == {}
    assert rtpl_comparison([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) == {}


def test_render_shows_verdict_window_table_and_rtpl() -> None:
    """The Markdown form holds the verdict, the replay window and one row per metric."""
    lines = render(judge("rel-new", "rel-old", backtest(), backtest(zone="yellow")).as_dict())
    text = "\n".join(lines)
    assert "Verdict: **BLOCKED**" in text
    assert "Both models replayed the same 250 sessions (2025-11-25 … 2026-11-24" in text
    assert "| bank: traffic-light zone | green | yellow |" in text
    assert "| metric | stable (rel-old) | new (rel-new) |" in text
    assert "Spearman 1.0000, KS 0.0000" in text


def test_approval_check_needs_an_explicit_acceptance() -> None:
    """Blocked: refused unless risk accepts with a reason; passed or disabled: allowed."""
    blocked = judge("n", "o", backtest(), backtest(zone="yellow"))
    refused = approval_check(blocked, None)
    assert not refused.ok
    assert "--accept-judgement" in refused.detail
    accepted = approval_check(blocked, "capital impact reviewed")
    assert accepted.ok
    assert "accepted by risk: capital impact reviewed" in accepted.detail
    assert approval_check(judge("n", "o", backtest(), backtest()), None).ok
    assert approval_check(None, None).ok


def _fake_venv(tmp_path: Path, script: str) -> Path:
    """A virtualenv whose `risk-service` is ``script`` (the boundary the judge drives)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    exe = venv / "bin" / "risk-service"
    exe.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return venv


def test_run_backtest_reads_the_releases_json(tmp_path: Path) -> None:
    """The release's own command is run with the environment's variables and its JSON read."""
    payload = json.dumps(backtest())
    venv = _fake_venv(
        tmp_path, f"test \"$RISK_SERVICE_ENVIRONMENT\" = staging || exit 9\necho '{payload}'\n"
    )
    data, why = run_backtest(
        venv, {"RISK_SERVICE_ENVIRONMENT": "staging"}, days=250, window=250, timeout=30
    )
    assert why == ""
    assert data is not None
    assert data["bank"]["traffic_light"] == "green"


@pytest.mark.parametrize(
    ("script", "expect"),
    [
        ("echo 'error: not migrated' >&2; exit 1\n", "exited 1: error: not migrated"),
        ("echo 'Usage: no such command'; exit 0\n", "did not print JSON"),
        ("echo '{\"days\": 250}'\n", "printed no bank figures"),
        ("sleep 5\n", "did not finish within 0.5 s"),
    ],
)
def test_run_backtest_failures_are_reasons_not_exceptions(
    tmp_path: Path, script: str, expect: str
) -> None:
    """A failing, silent, malformed or hanging replay gives (None, reason), never raises."""
    data, why = run_backtest(_fake_venv(tmp_path, script), {}, days=250, window=250, timeout=0.5)
    assert data is None
    assert expect in why


def test_run_backtest_without_the_command(tmp_path: Path) -> None:
    """A release directory with no risk-service at all is a reason, not a crash."""
    data, why = run_backtest(tmp_path, {}, days=250, window=250, timeout=5)
    assert data is None
    assert "could not start" in why
