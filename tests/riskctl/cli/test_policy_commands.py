"""Refusals through the CLI: each exits 3 with what is missing and is recorded; bad input exits 2;
the allowed path dev → staging → prod passes (fake target: this is about policy, not processes)."""

from __future__ import annotations

import sqlite3

import pytest

from riskctl.errors import DeployFailedError
from tests.riskctl.conftest import Built, Cli, FakeTarget, session_for, take_to_prod
from tests.riskctl.fixture_project import commit_all

FREEZE_EDT = "2026-03-09T10:30:00Z"  # Monday 06:30 New York, after the DST change
WEEKEND = "2026-03-07T16:00:00Z"  # Saturday 11:00 New York


def refused(cli: Cli, *args: str, action: str, expect: str, **env: str) -> None:
    result = cli(*args, "--json", **env)
    assert result.code == 3, result.stdout + result.stderr
    payload = result.json()
    assert expect in payload["error"], payload
    assert cli.audit_actions()[-1] == action


def test_author_approving_own_release_is_refused(built: Built, cli: Cli) -> None:
    """eng-1 wrote the commit and cannot approve it."""
    refused(cli, "approve", built.release, "--env", "staging", "--as", "eng-1",
            action="approval.refused", expect="commit author")  # fmt: skip


def test_self_review_is_refused(built: Built, cli: Cli) -> None:
    """The author cannot review their own change (actor from RISKCTL_ACTOR)."""
    refused(cli, "review", built.release, action="review.refused", expect="own change",
            RISKCTL_ACTOR="eng-1")  # fmt: skip


def test_staging_without_review_is_refused(built: Built, cli: Cli) -> None:
    """Staging needs a review by someone other than the author (GITHUB_ACTOR identifies)."""
    refused(cli, "deploy", built.release, "--env", "staging", action="deploy.refused",
            expect="code review", GITHUB_ACTOR="qa-1")  # fmt: skip


def test_wrong_role_for_prod_is_refused(built: Built, cli: Cli) -> None:
    """An engineer may not deploy to prod."""
    refused(cli, "deploy", built.release, "--env", "prod", "--as", "eng-2",
            action="deploy.refused", expect="role not allowed")  # fmt: skip


@pytest.mark.parametrize(("now", "expect"), [(FREEZE_EDT, "freeze"), (WEEKEND, "change window")])
def test_prod_closed_window_is_refused(built: Built, cli: Cli, now: str, expect: str) -> None:
    """Prod deploys in the freeze (after DST) or on a weekend are refused."""
    refused(cli, "deploy", built.release, "--env", "prod", "--as", "sre-1",
            action="deploy.refused", expect=expect, RISKCTL_NOW=now)  # fmt: skip


def test_prod_without_staging_lists_everything_missing(built: Built, cli: Cli) -> None:
    """The refusal lists each unmet requirement."""
    result = cli("deploy", built.release, "--env", "prod", "--as", "sre-1", "--json")
    missing = result.json()["missing"]
    assert "not yet deployed to staging" in missing
    assert any(m.startswith("missing qa-signoff") for m in missing)
    assert any(m.startswith("no rollback plan") for m in missing)


def test_break_glass_with_one_approver_is_refused(built: Built, cli: Cli) -> None:
    """One break-glass approval is not enough."""
    assert (
        cli("approve", built.release, "--env", "prod", "--break-glass", "--as", "risk-1").code == 0
    )
    refused(cli, "deploy", built.release, "--env", "prod", "--as", "sre-1", "--break-glass",
            "risk run failing", action="deploy.refused", expect="break-glass needs 2",
            RISKCTL_NOW=FREEZE_EDT)  # fmt: skip


def test_failed_gate_blocks_staging(built: Built, cli: Cli) -> None:
    """A release whose lint gate fails exits 1, records it, and cannot go to staging."""
    (built.repo / "src" / "fixture_svc" / "bad.py").write_text("import os\n")
    commit_all(built.repo, "unused import")
    release = cli("build", "--json").json()["release"]
    gates = cli("gates", release, "--only", "lint", "--json")
    assert gates.code == 1
    assert gates.json()["gates"][0]["status"] == "failed"
    assert cli("review", release, "--as", "eng-2").code == 0
    refused(cli, "deploy", release, "--env", "staging", "--as", "qa-1",
            action="deploy.refused", expect="gate lint failed")  # fmt: skip
    refused(cli, "deploy", release, "--env", "staging", "--as", "qa-1",
            action="deploy.refused", expect="gate unit has not run")  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("deploy", "rel-nope", "--env", "dev", "--as", "eng-1"), "unknown release"),
        (("deploy", "{release}", "--env", "qa", "--as", "eng-1"), "unknown environment"),
        (("approve", "{release}", "--env", "prod"), "no acting identity"),
        (("gates", "{release}", "--only", "nope"), "unknown gate"),
        (("promote", "staging", "--as", "qa-1"), "nothing to promote in staging"),
        (("abort", "staging", "--as", "qa-1"), "no rollout in progress in staging"),
        (("rollback", "--env", "staging", "--as", "qa-1"), "nothing to roll back to"),
        (
            ("approve", "{release}", "--env", "prod", "--as", "risk-1", "--model-change"),
            "declares no model change",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    built: Built, cli: Cli, args: tuple[str, ...], expect: str
) -> None:
    """Usage errors exit 2 with a one-line message, never a traceback."""
    result = cli(*(a.replace("{release}", built.release) for a in args))
    assert result.code == 2, result.stderr
    assert expect in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_invalid_policy_file_exits_2(built: Built, cli: Cli) -> None:
    """A policy with an unknown key or a bad role is rejected on load with the field named."""
    bad = built.repo / "bad.toml"
    bad.write_text('[identities.x]\nroles = ["wizard"]\n[environments]\n', encoding="utf-8")
    result = cli("status", "--config", str(bad))
    assert result.code == 2
    assert "identities.x.roles.0" in result.stderr
    result = cli("status", "--config", str(built.repo / "missing.toml"))
    assert result.code == 2
    assert "cannot read policy file" in result.stderr
    bad.write_text("not toml [", encoding="utf-8")
    assert "not valid TOML" in cli("status", "--config", str(bad)).stderr


def test_clock_override_needs_policy_permission(built: Built, cli: Cli) -> None:
    """RISKCTL_NOW is refused unless the policy allows rehearsals with a fixed clock."""
    text = (built.repo / "delivery.toml").read_text().replace("clock_override = true", "")
    (built.repo / "strict.toml").write_text(text)
    result = cli("status", "--config", str(built.repo / "strict.toml"))
    assert result.code == 2
    assert "clock_override" in result.stderr


def test_full_path_dev_staging_prod_is_allowed_and_audited(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review, QA sign-off, release and risk approval by different people take v1 to prod."""
    target = FakeTarget()
    take_to_prod(built, monkeypatch, target)
    assert [r.env for r in target.deployed] == ["dev", "staging", "prod"]
    session = session_for(built.repo, built.home, monkeypatch, "sre-1", target=target)
    try:
        status = session.status()["environments"]
        assert status["prod"]["stable_release"] == built.release
        assert status["prod"]["phase"] == "Healthy"
        history = session.history()
        assert history["releases"][0]["environments"] == ["dev", "prod", "staging"]
        assert session.verify().ok
    finally:
        session.close()


def test_failed_deploy_exits_1_and_records_rollback(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the target reports an unhealthy release that it rolled back, deploy fails (exit 1)."""
    ok = session_for(built.repo, built.home, monkeypatch, "eng-1")
    ok.deploy(built.release, "dev")
    ok.close()
    bad = session_for(built.repo, built.home, monkeypatch, "eng-1", target=FakeTarget(ok=False))
    try:
        with pytest.raises(DeployFailedError) as info:
            bad.deploy(built.release, "dev")
        assert info.value.exit_code == 1
        actions = [b["action"] for b in bad.audit.bodies()]
        assert actions[-3:] == ["deploy.failed", "rollback.performed", "incident.opened"]
        (incident,) = bad.incidents()
        assert incident["automatic"]
        assert incident["status"] == "open"
        assert incident["cause"] == "rollback.performed"
        assert incident["restored_at"] is not None  # the rollback restored the service
    finally:
        bad.close()


def test_status_and_history_json(built: Built, cli: Cli) -> None:
    """status --json has the SPEC fields per environment; history lists the release."""
    status = cli("status", "--json").json()["environments"]
    assert set(status) == {"dev", "staging", "prod"}
    for env in status.values():
        assert {"url", "stable_release", "canary_release", "canary_weight", "phase"} <= set(env)
    history = cli("history", "--json").json()
    assert history["releases"][0]["release"] == built.release
    assert any(e["action"] == "gates.completed" for e in history["events"])
    text = cli("history", "--limit", "2")
    assert text.code == 0
    assert len(text.stdout.strip().splitlines()) == 2


def test_audit_verify_cli_passes_then_fails_after_edit(built: Built, cli: Cli) -> None:
    """`riskctl audit verify` passes on the real log and names the entry after an edit."""
    ok = cli("audit", "verify", "--json")
    assert ok.code == 0
    assert ok.json()["ok"] is True
    with sqlite3.connect(built.home / "audit.sqlite") as db:
        db.execute("DROP TRIGGER riskctl_audit_entry_no_update")
        db.execute(
            "UPDATE riskctl_audit_entry SET body = replace(body, 'passed', 'PASSED') WHERE seq = 3"
        )
    bad = cli("audit", "verify")
    assert bad.code == 1
    assert "first bad entry #3" in bad.stderr


def test_deploy_check_records_the_decision_and_deploys_nothing(built: Built, cli: Cli) -> None:
    """`deploy --check` (CI, before applying rendered manifests) refuses like a deploy, exit 3,
    and when allowed records `deploy.checked` with every check, exit 0, and starts nothing."""
    refused(cli, "deploy", built.release, "--env", "prod", "--as", "sre-1", "--check",
            action="deploy.refused", expect="not yet deployed to staging")  # fmt: skip
    out = cli("deploy", built.release, "--env", "dev", "--as", "eng-1", "--check", "--json")
    assert out.code == 0, out.stderr
    body = out.json()
    assert (body["allowed"], body["env"], body["digest"]) == (True, "dev", built.digest)
    assert {c["name"] for c in body["checks"]} >= {"role", "window"}
    assert all(c["ok"] for c in body["checks"])
    assert cli.audit_actions()[-1] == "deploy.checked"
    dev = cli("status", "--env", "dev", "--json").json()["environments"]["dev"]
    assert dev["stable_release"] is None
    text = cli("deploy", built.release, "--env", "dev", "--as", "eng-1", "--check")
    assert text.code == 0
    assert f"{built.release} may be deployed to dev (recreate)" in text.stdout
