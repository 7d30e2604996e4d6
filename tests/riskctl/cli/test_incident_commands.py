"""`riskctl incident open|resolve|list` and `riskctl dora` through the CLI, on a real audit log."""

from __future__ import annotations

import pytest

from tests.riskctl.conftest import Built, Cli, FakeTarget, session_for


def test_open_resolve_and_list_an_incident(built: Built, cli: Cli) -> None:
    """A person opens an incident, resolving it needs a root cause and a regression test, and
    everything is in the (still verifiable) audit trail."""
    opened = cli("incident", "open", "--env", "prod", "--summary", "VaR report late",
                 "--impact", "desk heads waited 20 min", "--as", "sre-1", "--json")  # fmt: skip
    assert opened.code == 0, opened.stderr
    ident = opened.json()["id"]
    assert ident.startswith("INC-")

    listed = cli("incident", "list", "--open", "--json").json()["incidents"]
    assert [(i["id"], i["status"], i["automatic"]) for i in listed] == [(ident, "open", False)]
    assert listed[0]["opened_by"] == "sre-1"

    missing = cli("incident", "resolve", ident, "--root-cause", "slow disk", "--as", "sre-1")
    assert missing.code == 2
    assert "--regression-test" in missing.stderr

    done = cli("incident", "resolve", ident.lower(), "--root-cause", "slow disk",
               "--regression-test", "tests/service/test_daily_run.py::test_deadline",
               "--as", "sre-1", "--json")  # fmt: skip
    assert done.code == 0, done.stderr
    body = done.json()
    assert (body["status"], body["resolved_by"], body["root_cause"]) == (
        "resolved",
        "sre-1",
        "slow disk",
    )
    assert body["restore_seconds"] == 0.0  # opened and resolved at the same fixed instant

    again = cli("incident", "resolve", ident, "--root-cause", "x", "--regression-test", "y",
                "--as", "sre-1")  # fmt: skip
    assert again.code == 2
    assert "already resolved" in again.stderr
    assert cli("incident", "list", "--open").stdout.strip() == "no incidents"
    actions = cli.audit_actions()
    assert actions.count("incident.opened") == 1
    assert actions.count("incident.resolved") == 1
    assert cli("audit", "verify").code == 0


def test_incident_usage_errors(built: Built, cli: Cli) -> None:
    """Unknown environment, no identity, blank summary, unknown id: exit 2 with a reason."""
    unknown_env = cli("incident", "open", "--env", "nowhere", "--summary", "x", "--as", "sre-1")
    assert unknown_env.code == 2
    nobody = cli("incident", "open", "--env", "prod", "--summary", "x")
    assert nobody.code == 2
    assert "--as" in nobody.stderr
    blank = cli("incident", "open", "--env", "prod", "--summary", "  ", "--as", "sre-1")
    assert blank.code == 2
    assert "--summary" in blank.stderr
    unknown = cli("incident", "resolve", "INC-999999", "--root-cause", "x",
                  "--regression-test", "y", "--as", "sre-1")  # fmt: skip
    assert unknown.code == 2
    assert "no incident" in unknown.stderr


def test_dora_through_the_cli_states_its_definitions(
    built: Built, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`riskctl dora` prints figures with their definitions; JSON carries the same; an unknown
    environment is a usage error."""
    session = session_for(built.repo, built.home, monkeypatch, "eng-1", target=FakeTarget())
    try:
        session.deploy(built.release, "dev")
    finally:
        session.close()
    out = cli("dora", "--env", "dev", "--days", "7", "--json")
    assert out.code == 0, out.stderr
    body = out.json()
    assert body["deployment_frequency"]["deploys"] == 1
    assert body["change_failure_rate"]["rate"] == 0.0
    assert body["lead_time"]["changes"] == 1
    assert body["lead_time"]["median_s"] >= 0
    assert body["build_time"]
    assert body["build_time"][0]["seconds"] > 0
    text = cli("dora", "--env", "dev").stdout
    assert "deployment frequency  1 deploys" in text
    assert "Definitions:" in text
    assert "change_failure_rate:" in text
    assert cli("dora", "--env", "nowhere").code == 2
    assert cli("dora", "--days", "0").code == 2
