"""The model-change judge inside risk's approval: blocked without evidence of no harm, accepted
only explicitly, and both on the record (audit trail and compliance report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from riskctl.errors import PolicyRefusedError
from riskctl.report import to_markdown
from riskctl.shadow import modeljudge
from tests.riskctl.conftest import Built, Cli, session_for
from tests.riskctl.fixture_project import commit_all
from tests.riskctl.shadow.test_modeljudge import backtest


def _declared_release(built: Built, cli: Cli) -> tuple[str, str]:
    """Enable the judge in the policy and build a release declaring a model change."""
    policy = built.repo / "delivery.toml"
    policy.write_text(
        policy.read_text(encoding="utf-8") + "\n[model_judge]\nenabled = true\ndays = 250\n",
        encoding="utf-8",
    )
    declarations = built.repo / "delivery" / "release.toml"
    declarations.parent.mkdir(parents=True, exist_ok=True)
    declarations.write_text(
        '[model_change]\nreason = "lighter tails"\nexpected_impact = 0.3\n', encoding="utf-8"
    )
    commit_all(built.repo, "model: lighter tails")
    out = cli("build", "--json")
    assert out.code == 0, out.stderr
    return str(out.json()["release"]), str(out.json()["digest"])


@pytest.fixture
def declared(
    built: Built, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[str, str, dict[str, Any]]:
    """v1 serving dev, a declared model change built, and fake replays keyed by release digest
    (the venv and the release's CLI are the boundary faked here; test_modeljudge drives a real
    command, the demo real releases)."""
    new, digest = _declared_release(built, cli)
    s = session_for(built.repo, built.home, monkeypatch, "eng-1")
    try:
        s.deploy(built.release, "dev")
    finally:
        s.close()
    replays: dict[str, Any] = {built.digest: backtest(), digest: backtest()}
    calls: list[tuple[str, int, int]] = []

    def fake_run(
        venv: Path, variables: dict[str, str], *, days: int, window: int, timeout: float
    ) -> tuple[dict[str, Any] | None, str]:
        calls.append((variables["RISK_SERVICE_ENVIRONMENT"], days, window))
        found = replays[variables["RISK_SERVICE_ARTIFACT_DIGEST"]]
        return (found, "") if found is not None else (None, "exited 1: not migrated")

    monkeypatch.setattr(modeljudge, "run_backtest", fake_run)
    monkeypatch.setattr(
        "riskctl.targets.releasedir.ensure_venv", lambda d, w, **_: tmp_path / "venv"
    )
    replays["calls"] = calls
    return new, digest, replays


def _approve(built: Built, monkeypatch: pytest.MonkeyPatch, new: str, **kw: Any) -> Any:
    s = session_for(built.repo, built.home, monkeypatch, "risk-1")
    try:
        return s.approve(new, "dev", model_change=True, **kw)
    finally:
        s.close()


def _bodies(built: Built, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    s = session_for(built.repo, built.home, monkeypatch, None)
    try:
        return list(s.audit.bodies())
    finally:
        s.close()


def test_a_change_that_moves_the_bank_to_amber_is_refused(
    built: Built, monkeypatch: pytest.MonkeyPatch, declared: tuple[str, str, dict[str, Any]]
) -> None:
    """Green → yellow: risk's approval is refused (exit 3 in the CLI) with the evidence recorded;
    no model-change approval exists, so the shadow comparison keeps the release out."""
    new, digest, replays = declared
    replays[digest] = backtest(zone="yellow", exceptions=7)
    with pytest.raises(PolicyRefusedError, match="traffic light would move from green to yellow"):
        _approve(built, monkeypatch, new)
    assert replays["calls"] == [("dev", 250, 250), ("dev", 250, 250)]
    bodies = _bodies(built, monkeypatch)
    judged = [b for b in bodies if b["action"] == "model_change.judged"]
    assert [b["details"]["verdict"] for b in judged] == ["blocked"]
    assert judged[0]["details"]["baseline"] == built.release
    assert ["bank: traffic-light zone", "green", "yellow"] in judged[0]["details"]["rows"]
    assert bodies[-1]["action"] == "approval.refused"
    assert not any(b["action"] == "model_change.approved" for b in bodies)


def test_risk_may_accept_a_blocked_change_explicitly(
    built: Built,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    declared: tuple[str, str, dict[str, Any]],
) -> None:
    """With --accept-judgement REASON the blocked change is approved; the acceptance and the
    evidence show in the compliance report."""
    new, digest, replays = declared
    replays[digest] = backtest(zone="yellow", exceptions=7)
    out = _approve(built, monkeypatch, new, accept_judgement="capital add-on agreed with desk")
    assert out["judgement"]["verdict"] == "blocked"
    approved = [b for b in _bodies(built, monkeypatch) if b["action"] == "model_change.approved"]
    assert approved[-1]["details"]["judge"] == {
        "verdict": "blocked",
        "accepted": "capital add-on agreed with desk",
    }
    s = session_for(built.repo, built.home, monkeypatch, None)
    try:
        md = to_markdown(s.report(new))
    finally:
        s.close()
    assert "### Model-change judge" in md
    assert "Verdict: **BLOCKED**" in md
    assert "| bank: traffic-light zone | green | yellow |" in md
    assert "judge BLOCKED, accepted by risk: capital add-on agreed with desk" in md
    bad = cli("approve", new, "--env", "dev", "--as", "risk-1", "--accept-judgement", "ok")
    assert bad.code == 2
    assert "--accept-judgement needs --model-change" in bad.stderr


def test_a_harmless_change_passes_and_a_missing_replay_fails_closed(
    built: Built, monkeypatch: pytest.MonkeyPatch, declared: tuple[str, str, dict[str, Any]]
) -> None:
    """Same zone and PLA: approved with the judge's verdict; a replay that fails: refused."""
    new, digest, replays = declared
    out = _approve(built, monkeypatch, new)
    assert out["judgement"]["verdict"] == "passed"
    replays[digest] = None
    with pytest.raises(PolicyRefusedError, match="no evidence"):
        _approve(built, monkeypatch, new)
