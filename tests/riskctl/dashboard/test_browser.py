"""The page in a real browser (Chromium through Playwright), served the way `riskctl dashboard`
serves it: read-only target, loopback, strict CSP. Needs `make setup` (chromium, playwright)."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from riskctl.dashboard.command import prepare_dashboard
from riskctl.rollout.envstate import EnvState, EnvStore, SlotOccupant
from riskctl.rollout.state import Phase, RolloutState, Step, StepKind
from tests.riskctl.dashboard.conftest import HOSTILE, NOW_TEXT, Scenario, serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WAIT_MS = 10_000


def _playwright(chromium: str = CHROMIUM) -> Any:
    """Playwright's sync API once Chromium is known to be there, or a failure (never a skip)
    saying how to get them."""
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        pytest.fail("Python Playwright is not installed: run `make setup`")
    if not Path(chromium).is_file():
        pytest.fail(f"{chromium} is missing: run `make setup` (installs the chromium package)")
    return sync_playwright


def test_missing_browser_or_library_fails_with_the_remedy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without Chromium or without Playwright the browser test fails (not skips), naming
    `make setup`."""
    with pytest.raises(pytest.fail.Exception, match="make setup"):
        _playwright(str(tmp_path / "no-chromium"))
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    with pytest.raises(pytest.fail.Exception, match="not installed: run `make setup`"):
        _playwright()


def _environment_states(scn: Scenario) -> None:
    """What the rollout controller would have persisted: prod finished a canary (analysis and
    shadow kept); dev has a canary paused for a person after an inconclusive analysis."""
    envs = scn.home / "envs"
    blue = SlotOccupant(scn.release, scn.digest, 1)
    prod_rollout = RolloutState(
        "prod", "canary", None, None, scn.release, "blue",
        (Step(StepKind.SET_WEIGHT, 100.0),), 1, Phase.HEALTHY, 100, True, "promoted",
    )  # fmt: skip
    EnvStore(envs, "prod").save(
        EnvState(
            "prod",
            slots={"blue": blue},
            stable_slot="blue",
            rollout=prod_rollout,
            finished=True,
            verdict={
                "phase": "Successful",
                "reasons": ["error rate 0.0 % vs baseline 0.0 % (Fisher p = 1.0)"],
                "summary": "Successful: no significant difference",
                "metrics": {"canary_requests": 412.0, "canary_p99_ms": 38.5},
                "release": scn.release,
                "baseline": "rel-previous",
                "canary_weight": 50,
                "mode": "canary (front door)",
                "seconds": 10.0,
            },
            shadow={
                "passed": True,
                "summary": "shadow: 9 requests, 0 differences",
                "report": [],
                "breaches": 0,
            },
        )
    )
    dev_rollout = RolloutState(
        "dev", "canary", scn.release, "blue", "rel-next", "green",
        (Step(StepKind.SET_WEIGHT, 10.0), Step(StepKind.ANALYZE, 10.0),
         Step(StepKind.SET_WEIGHT, 100.0)),
        1, Phase.PAUSED, 10, True, "inconclusive: too few samples",
    )  # fmt: skip
    EnvStore(envs, "dev").save(
        EnvState(
            "dev",
            slots={"blue": blue, "green": SlotOccupant("rel-next", "sha256:" + "0" * 64, 2)},
            stable_slot="blue",
            rollout=dev_rollout,
            finished=False,
            verdict={
                "phase": "Inconclusive",
                "reasons": ["12 canary samples < 50"],
                "summary": "Inconclusive: too few samples",
                "metrics": {},
            },
        )
    )


def _approval_seq(home: Path) -> int:
    with sqlite3.connect(home / "audit.sqlite") as db:
        (seq,) = db.execute(
            "SELECT seq FROM riskctl_audit_entry WHERE body LIKE ? AND body LIKE ?",
            ('%"action":"approval.recorded"%', '%"env":"prod"%'),
        ).fetchone()
    return int(seq)


def _rewrite_approver(home: Path, seq: int) -> None:
    """The quiet edit an auditor fears: who approved the prod release is changed in place."""
    with sqlite3.connect(home / "audit.sqlite") as db:
        db.execute("DROP TRIGGER IF EXISTS riskctl_audit_entry_no_update")
        changed = db.execute(
            "UPDATE riskctl_audit_entry SET body = replace(body, '\"risk-1\"', '\"sre-2\"') "
            "WHERE seq = ?",
            (seq,),
        ).rowcount
    assert changed == 1


@pytest.mark.integration
def test_page_renders_escapes_and_turns_red_when_tampered(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In Chromium: cards, rollout, DORA bars (one per deploy day), incidents and a verified
    trail render without console errors or CSP violations; markup from the trail stays text;
    after a quiet edit of the trail the next refresh shows it TAMPERED at that entry."""
    sync_playwright = _playwright()
    _environment_states(scenario)
    monkeypatch.setenv("RISKCTL_NOW", NOW_TEXT)
    dashboard = prepare_dashboard("127.0.0.1", 0, None, cwd=scenario.repo)
    problems: list[str] = []
    dialogs: list[str] = []
    foreign: list[str] = []
    with serving(dashboard) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=WAIT_MS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: None if r.url.startswith(url) else foreign.append(r.url))
            page.goto(url + "/?refresh=1", timeout=WAIT_MS)

            prod = page.locator('.card[data-env="prod"]')
            prod.wait_for(timeout=WAIT_MS)
            assert prod.locator(".release").first.inner_text() == scenario.release
            # Nothing runs in this test, so the observed phase is honest: Degraded.
            assert prod.locator(".phase").inner_text() == "Degraded"
            assert "Successful: no significant difference" in prod.inner_text()
            assert "error rate 0.0 % vs baseline" in prod.inner_text()
            assert "shadow: 9 requests, 0 differences" in prod.inner_text()

            rollout = page.locator('#rollout-list .rollout[data-env="dev"]')
            rollout.wait_for(timeout=WAIT_MS)
            assert "rel-next" in rollout.inner_text()
            assert "Paused" in rollout.inner_text()
            assert "12 canary samples < 50" in rollout.inner_text()

            bars = page.locator("#dora-deploys-chart svg g.bar")
            bars.first.wait_for(timeout=WAIT_MS)
            dates = [bars.nth(i).get_attribute("data-date") for i in range(bars.count())]
            assert dates == ["2026-03-02", "2026-03-04"]
            assert "50 %" in page.locator("#dora-figures").inner_text()  # change failure rate

            verification = page.locator('#audit-verification[data-ok="true"]')
            verification.wait_for(timeout=WAIT_MS)
            assert verification.inner_text().startswith("Verified:")

            incidents = page.locator("#incident-list")
            incidents.get_by_text(HOSTILE, exact=True).wait_for(timeout=WAIT_MS)
            assert page.locator("img").count() == 0
            assert HOSTILE in page.locator("#audit-entries").inner_text()

            seq = _approval_seq(scenario.home)
            _rewrite_approver(scenario.home, seq)
            tampered = page.locator('#audit-verification[data-ok="false"]')
            tampered.wait_for(timeout=WAIT_MS)
            assert tampered.get_attribute("data-first-bad-entry") == str(seq)
            assert f"first bad entry #{seq}" in tampered.inner_text()
            assert "TAMPERED" in page.locator("#audit-badge").inner_text()
            assert "bad" in (page.locator("#audit-badge").get_attribute("class") or "")
            bad_rows = page.locator("#audit-entries tr.bad")
            assert bad_rows.count() == 1
            assert bad_rows.first.locator("td").first.inner_text() == str(seq)
            assert page.locator("img").count() == 0
        finally:
            browser.close()
    assert problems == []
    assert dialogs == []
    assert foreign == []
