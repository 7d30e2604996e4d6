"""Issue 8, identity part (SPEC §6a): proven identities, the pinned policy, mechanisms in the
policy, authorship. Each ``test_findingN_*`` reproduces a finding of the issue (it fails on the
code before the fix); the other tests try to get around each control."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from riskctl.audit.log import Record
from riskctl.errors import PolicyRefusedError, UsageError
from riskctl.model import Role, Strategy
from riskctl.signing import KeyPair, key_id
from riskctl.targets.interface import InstanceStatus
from riskctl.trust.admin import pin
from riskctl.trust.keys import parse_public_key
from riskctl.trust.operate import authorise_operation
from riskctl.trust.statements import Claim, Kind, sign_statement
from tests.riskctl.conftest import Built, Cli, FakeTarget, session_for, take_to_prod
from tests.riskctl.fixture_project import commit_all, git, keyring, person_key

SATURDAY = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # outside prod's weekday window


def _key(name: str) -> KeyPair:
    private = person_key(name)
    return KeyPair(private, key_id(private.public_key()))


def _policy_variant(built: Built, name: str, old: str, new: str) -> Path:
    """A copy of the pinned fixture policy with one text replacement (an unpinned file)."""
    text = (built.repo / "delivery.toml").read_text(encoding="utf-8")
    assert old in text
    path = built.repo.parent / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# --- finding 1: exec and risk-run ---------------------------------------------------------------


def test_finding1_exec_needs_deployer_role(built: Built, cli: Cli) -> None:
    """`exec --env prod` needs a proven prod deployer, and only a release prod would take: a
    gated but unapproved release minting an admin token is refused and nothing runs."""
    token = ["--", "token", "create", "--name", "x", "--scope", "admin"]
    nobody = cli("exec", "--env", "prod", "--release", built.release, *token)
    assert nobody.code == 2
    assert "--as" in nobody.stderr
    engineer = cli("exec", "--env", "prod", "--release", built.release, "--as", "eng-1", *token)
    assert engineer.code == 3
    assert "not a deployer of prod" in engineer.stderr
    sre = cli("exec", "--env", "prod", "--release", built.release, "--as", "sre-1", *token)
    assert sre.code == 3
    assert "could not be deployed there" in sre.stderr
    actions = cli.audit_actions()
    assert "exec" not in actions
    assert actions.count("exec.refused") == 2


def test_finding1_serving_release_may_be_operated_by_its_deployers(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a release serves prod, its SRE may run its CLI there; an engineer still may not."""
    take_to_prod(built, monkeypatch, FakeTarget())
    session = session_for(built.repo, built.home, monkeypatch, "sre-1", now=SATURDAY)
    try:
        ledger = session.ledger()
        release = ledger.release(built.release)
        for actor, allowed in (("sre-1", True), ("eng-1", False)):
            decision = authorise_operation(
                session.config, session.calendar, ledger, env="prod", actor=actor,
                release=release, now=SATURDAY, what="exec",
            )  # fmt: skip
            assert decision.allowed is allowed, decision.message()
    finally:
        session.close()


# --- finding 3: the pinned policy ---------------------------------------------------------------


def test_finding3_other_policy_refused(built: Built, cli: Cli) -> None:
    """An approval refused under the pinned policy cannot be recorded under a permissive file."""
    assert cli("approve", built.release, "--env", "prod", "--as", "eng-2").code == 3
    permissive = _policy_variant(
        built, "permissive.toml", 'roles = ["engineer"]\nemails = ["eng-2@example.com"]',
        'roles = ["engineer", "release-manager"]\nemails = ["eng-2@example.com"]',
    )  # fmt: skip
    out = cli("approve", built.release, "--env", "prod", "--as", "eng-2",
              "--config", str(permissive))  # fmt: skip
    assert out.code == 3
    assert "not the pinned policy" in out.stderr
    assert "approval.recorded" not in cli.audit_actions()


def test_finding3_gate_results_under_other_definitions_do_not_count(built: Built, cli: Cli) -> None:
    """A gate run under a file whose command is `true` does not count as passed."""
    assert cli("review", built.release, "--as", "eng-2").code == 0
    assert cli("deploy", built.release, "--env", "staging", "--as", "qa-1", "--check").code == 0
    fake = _policy_variant(
        built, "fake-gates.toml", 'commands = [["ruff", "check", "--no-cache", "src"]]',
        'commands = [["true"]]',
    )  # fmt: skip
    ran = cli("gates", built.release, "--only", "lint", "--config", str(fake))
    assert ran.code == 0, ran.stderr
    out = cli("deploy", built.release, "--env", "staging", "--as", "qa-1", "--check")
    assert out.code == 3
    assert "gate lint has not run" in out.stderr


def test_finding3_clock_override_cannot_be_unlocked_by_another_file(built: Built, cli: Cli) -> None:
    """Once the pinned policy forbids a fixed clock, no other file can allow it."""
    strict = _policy_variant(built, "strict.toml", "clock_override = true", "")
    pinned = cli("policy", "pin", "--as", "admin", "--config", str(strict), RISKCTL_NOW="")
    assert pinned.code == 0, pinned.stderr
    permissive = built.repo / "delivery.toml"  # still says clock_override = true
    out = cli("status", "--config", str(permissive))
    assert out.code == 2
    assert "clock_override" in out.stderr


def test_finding3_roles_rederived_at_decision_time(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An approval's stored roles do not count: after the policy in force drops the approver's
    role, their approval no longer satisfies the rule."""
    target = FakeTarget()
    take_to_prod(built, monkeypatch, target)
    session = session_for(built.repo, built.home, monkeypatch, "sre-1")
    try:
        ledger = session.ledger()
        release = ledger.release(built.release)
        approvals = ledger.facts(release, "prod", session.config).approvals
        assert any(Role.RELEASE_MANAGER in a.roles for a in approvals)  # stored with it
        config = session.config
        demoted = config.identities["risk-1"].model_copy(update={"roles": (Role.RISK,)})
        identities = {**config.identities, "risk-1": demoted}
        stricter = config.model_copy(update={"identities": identities})
        from riskctl.policy import DeployRequest, evaluate_deploy  # noqa: PLC0415

        facts = replace(ledger.facts(release, "prod", stricter), deployed_envs=frozenset())
        request = DeployRequest("prod", "sre-2", datetime(2026, 3, 2, 15, tzinfo=UTC))
        missing = evaluate_deploy(stricter, session.calendar, request, facts).missing
        assert any("release-approval" in m for m in missing), missing
    finally:
        session.close()


def test_repin_needs_an_admin_of_the_pinned_policy(built: Built, cli: Cli) -> None:
    """A file naming its author admin cannot be pinned by them, and a tampered pin chain stops
    every staging/prod decision."""
    evil = _policy_variant(
        built, "evil.toml", "[identities.sre-2]",
        '[identities.mallory]\nroles = ["admin", "release-manager"]\n'
        f'keys = ["{_public("mallory")}"]\n[identities.sre-2]',
    )  # fmt: skip
    out = cli("policy", "pin", "--as", "mallory", "--config", str(evil))
    assert out.code == 3
    assert "not an admin of the pinned policy" in out.stderr
    chain = built.home / "policy" / "pins.jsonl"
    record = json.loads(chain.read_text().splitlines()[0])
    record["signer"] = "mallory"
    chain.write_text(json.dumps(record) + "\n")
    refused = cli("deploy", built.release, "--env", "staging", "--as", "qa-1", "--check")
    assert refused.code == 3
    assert "policy pin does not verify" in refused.stderr


def _public(name: str) -> str:
    from tests.riskctl.fixture_project import public_key_line  # noqa: PLC0415

    return public_key_line(name)


# --- signed statements: attacks -----------------------------------------------------------------


def _prod_ready_without_release_approval(built: Built, mp: pytest.MonkeyPatch) -> FakeTarget:
    target = FakeTarget()
    steps = [
        ("eng-1", lambda s: s.deploy(built.release, "dev")),
        ("eng-2", lambda s: s.review(built.release)),
        ("qa-1", lambda s: s.deploy(built.release, "staging")),
        ("qa-1", lambda s: s.approve(built.release, "staging")),
    ]
    for actor, step in steps:
        session = session_for(built.repo, built.home, mp, actor, target=target)
        try:
            step(session)
        finally:
            session.close()
    return target


def _append_approval(built: Built, mp: pytest.MonkeyPatch, statement: str, env: str) -> None:
    """A store writer (holding the audit key) appends an approval.recorded for risk-1."""
    session = session_for(built.repo, built.home, mp, None)
    try:
        session.audit.append(
            [
                Record(
                    action="approval.recorded",
                    actor="risk-1",
                    at=datetime(2026, 3, 2, 15, tzinfo=UTC),
                    release=built.digest,
                    env=env,
                    details={
                        "release": built.release,
                        "roles": ["release-manager", "risk"],
                        "break_glass": False,
                        "statement": statement,
                    },
                )
            ]
        )
    finally:
        session.close()


def _prod_check(built: Built, mp: pytest.MonkeyPatch, target: FakeTarget) -> tuple[str, ...]:
    session = session_for(built.repo, built.home, mp, "sre-1", target=target)
    try:
        session.deploy(built.release, "prod", rollback_plan="stop", check_only=True)
    except PolicyRefusedError as exc:
        return exc.missing
    finally:
        session.close()
    return ()


def _claim(signer: str, env: str, subject: str) -> Claim:
    return Claim(Kind.APPROVAL, signer, subject, env, "2026-03-02T15:00:00+00:00", "sha256:x")


@pytest.mark.parametrize(
    ("forgery", "why"),
    [
        ("unsigned", "no statement at all"),
        ("other-key", "signed by sre-2's key, naming risk-1"),
        ("garbled", "a valid envelope with its signature bytes altered"),
        ("other-env", "risk-1's genuine statement for staging, replayed for prod"),
        ("other-release", "risk-1's genuine statement for another digest"),
    ],
)
def test_forged_approval_statement_does_not_count(
    built: Built, monkeypatch: pytest.MonkeyPatch, forgery: str, why: str
) -> None:
    """An approval.recorded entry counts only with risk-1's own signature over this release and
    environment; each forgery leaves the prod deploy refused for a missing release approval."""
    target = _prod_ready_without_release_approval(built, monkeypatch)
    genuine = sign_statement(_claim("risk-1", "prod", built.digest), _key("risk-1"))
    statement = {
        "unsigned": "",
        "other-key": sign_statement(_claim("risk-1", "prod", built.digest), _key("sre-2")),
        "garbled": genuine.replace('"sig":"', '"sig":"AAAA', 1),
        "other-env": sign_statement(_claim("risk-1", "staging", built.digest), _key("risk-1")),
        "other-release": sign_statement(
            _claim("risk-1", "prod", "sha256:" + "0" * 64), _key("risk-1")
        ),
    }[forgery]
    _append_approval(built, monkeypatch, statement, "prod")
    missing = _prod_check(built, monkeypatch, target)
    assert any("release-approval" in m for m in missing), (why, missing)
    # Control: the genuine statement does count.
    _append_approval(built, monkeypatch, genuine, "prod")
    assert _prod_check(built, monkeypatch, target) == ()


def test_missing_or_wrong_key_records_nothing(built: Built, cli: Cli) -> None:
    """`--as` alone proves nothing: without risk-1's key, or with another person's, exit 3 and
    nothing is recorded."""
    before = cli.audit_actions()
    no_key = cli("approve", built.release, "--env", "prod", "--as", "risk-1", RISKCTL_KEYRING="")
    assert no_key.code == 3
    assert "no private key for risk-1" in no_key.stderr
    wrong = cli("approve", built.release, "--env", "prod", "--as", "risk-1",
                "--key", str(keyring() / "mallory"))  # fmt: skip
    assert wrong.code == 3
    assert "not one of risk-1's keys" in wrong.stderr
    assert cli.audit_actions() == before


def test_group_readable_key_refused(built: Built, cli: Cli, tmp_path: Path) -> None:
    """A private key others can read is refused, as ssh refuses it."""
    loose = tmp_path / "risk-1"
    loose.write_bytes((keyring() / "risk-1").read_bytes())
    loose.chmod(0o644)
    out = cli("approve", built.release, "--env", "prod", "--as", "risk-1", "--key", str(loose))
    assert out.code == 3
    assert "readable by others" in out.stderr


def test_keygen_prints_the_policy_line(cli: Cli, tmp_path: Path) -> None:
    """keygen writes a 0600 OpenSSH private key and prints the public line, never overwrites."""
    path = tmp_path / "keys" / "eng-9"
    out = cli("keygen", "--as", "eng-9", "--out", str(path), "--json")
    assert out.code == 0, out.stderr
    made = out.json()
    parse_public_key(made["public_key"])
    assert made["public_key"].endswith(" eng-9")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in out.stdout.encode()
    assert cli("keygen", "--as", "eng-9", "--out", str(path)).code == 2


# --- finding 6: authorship ----------------------------------------------------------------------


def _touch_code(built: Built, note: str) -> None:
    """Change the packaged code (so the build is a new release, not the template's again)."""
    path = built.repo / "src" / "fixture_svc" / "behaviour.py"
    path.write_text(path.read_text(encoding="utf-8") + f"# {note}\n", encoding="utf-8")


def test_finding6_author_matched_by_email_not_name(built: Built, cli: Cli) -> None:
    """A commit whose author *name* is qa-1 but whose e-mail is eng-2's is eng-2's change."""
    _touch_code(built, "more")
    commit_all(built.repo, "docs", author=("qa-1", "eng-2@example.com"))
    release = cli("build", "--as", "eng-2", "--json").json()["release"]
    assert cli("review", release, "--as", "eng-2").code == 3
    out = cli("review", release, "--as", "qa-1")
    assert out.code == 0, out.stderr


def test_finding6_dirty_build_attributed_to_builder(built: Built, cli: Cli) -> None:
    """qa-1 building eng-1's HEAD with uncommitted changes is the author of that release: qa-1
    cannot review it, and a dirty release is refused outside dev."""
    _touch_code(built, "uncommitted")
    out = cli("build", "--allow-dirty", "--as", "qa-1", "--json")
    assert out.code == 0, out.stderr
    release = out.json()["release"]
    own = cli("review", release, "--as", "qa-1")
    assert own.code == 3
    assert "cannot review their own change" in own.stderr
    assert cli("review", release, "--as", "eng-1").code == 0
    staging = cli("deploy", release, "--env", "staging", "--as", "eng-2", "--check")
    assert staging.code == 3
    assert "dirty" in staging.stderr


def test_unknown_author_email_cannot_be_shown_independent(built: Built, cli: Cli) -> None:
    """A commit under an e-mail no identity has cannot pass a review-required environment."""
    _touch_code(built, "anon")
    commit_all(built.repo, "docs", author=("eng-1", "someone@elsewhere.example"))
    release = cli("build", "--as", "eng-1", "--json").json()["release"]
    assert cli("review", release, "--as", "eng-2").code == 0
    out = cli("deploy", release, "--env", "staging", "--as", "qa-1", "--check")
    assert out.code == 3
    assert "is no identity's" in out.stderr


# --- finding 8: mechanisms in the policy --------------------------------------------------------


def test_finding8_staging_refuses_via(built: Built, cli: Cli) -> None:
    """`deploy --env staging --via true` is refused: staging's policy does not allow --via."""
    assert cli("review", built.release, "--as", "eng-2").code == 0
    out = cli("deploy", built.release, "--env", "staging", "--as", "qa-1", "--via", "true")
    assert out.code == 3
    assert "--via is not allowed in staging" in out.stderr
    assert "deploy.succeeded" not in cli.audit_actions()


def test_finding8_prod_cannot_pick_another_strategy(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prod deploy with a strategy its policy does not list is refused, everything else ready."""
    target = FakeTarget()
    target.strategies = frozenset(Strategy)
    take_to_prod(built, monkeypatch, target)
    session = session_for(built.repo, built.home, monkeypatch, "sre-1", target=target)
    with pytest.raises(PolicyRefusedError) as refused:
        session.deploy(built.release, "prod", strategy=Strategy.BLUEGREEN, check_only=True)
    session.close()
    assert refused.value.missing == ("strategy bluegreen is not allowed in prod (recreate)",)


# --- finding 10: known identities, status, promote ----------------------------------------------


def test_finding10_incident_resolve_needs_known_identity(built: Built, cli: Cli) -> None:
    """Resolving an incident as a name the policy does not know is refused and not recorded."""
    opened = cli("incident", "open", "--env", "prod", "--summary", "late", "--as", "sre-1",
                 "--json")  # fmt: skip
    ident = opened.json()["id"]
    out = cli("incident", "resolve", ident, "--root-cause", "x", "--regression-test", "y",
              "--as", "not-a-person")  # fmt: skip
    assert out.code == 3
    assert "unknown identity 'not-a-person'" in out.stderr
    mallory = cli("incident", "open", "--env", "dev", "--summary", "x", "--as", "mallory")
    assert mallory.code == 3
    assert "incident.resolved" not in cli.audit_actions()


class _ConvergingTarget(FakeTarget):
    """A target whose status converges (and records) when allowed, like the rollout target."""

    def __init__(self) -> None:
        super().__init__()
        self.status_sink = None
        self.status_converges = True

    def status(self, env: str, port: int) -> InstanceStatus:
        if self.status_converges and self.status_sink is not None:
            self.status_sink("instance.restarted", None, {"env": env})
        return super().status(env, port)


def test_finding10_status_records_nothing_without_role(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`status` with no identity, or one without a deployer role, only looks; a deployer's
    status may converge (and that is recorded under their name)."""
    for actor, recorded in ((None, False), ("risk-1", False), ("sre-1", True)):
        target = _ConvergingTarget()
        session = session_for(built.repo, built.home, monkeypatch, actor, target=target)
        try:
            before = len(session.audit.bodies())
            session.status("prod")
            bodies = session.audit.bodies()
        finally:
            session.close()
        assert (len(bodies) > before) is recorded, actor
        if recorded:
            assert bodies[-1]["actor"] == actor


def test_finding10_promote_rechecked_against_window(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promoting a paused prod rollout outside the change window is refused by policy."""
    session = session_for(built.repo, built.home, monkeypatch, "sre-1", now=SATURDAY)
    try:
        with pytest.raises(PolicyRefusedError, match="promote in prod refused"):
            session.promote("prod")
        assert session.audit.bodies()[-1]["action"] == "promote.refused"
    finally:
        session.close()


def test_signing_key_never_printed(built: Built, cli: Cli) -> None:
    """Nothing riskctl prints or records contains a private key."""
    out = cli("review", built.release, "--as", "eng-2", "--json")
    assert out.code == 0
    secret = (keyring() / "eng-2").read_text()
    body = "".join(secret.splitlines()[1:-1])
    assert body[:40] not in out.stdout + out.stderr
    assert body[:40] not in (built.home / "audit.sqlite").read_bytes().decode("latin-1")


def test_git_helper_is_the_fixture_one() -> None:
    """(guard) the fixture's git helper is importable for authorship tests."""
    assert callable(git)


# --- pinning with expectations ------------------------------------------------------------------


def _pins(built: Built) -> list[dict[str, object]]:
    chain = built.home / "policy" / "pins.jsonl"
    return [json.loads(line) for line in chain.read_text(encoding="utf-8").splitlines()]


def _pin(built: Built, mp: pytest.MonkeyPatch, **expect: str) -> dict[str, object]:
    session = session_for(built.repo, built.home, mp, "admin")
    try:
        return pin(session, **expect)
    finally:
        session.close()


def _edit_policy(built: Built, note: str) -> str:
    """Change the repository's policy file (a comment) and return its new digest."""
    path = built.repo / "delivery.toml"
    path.write_text(path.read_text(encoding="utf-8") + f"# {note}\n", encoding="utf-8")
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_pin_with_expected_digest(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pin states the digest the admin reviewed: another file (changed in between) is refused
    and nothing is written; the right digest (with or without `sha256:`) is pinned and the
    expectation is part of the signed pin."""
    reviewed = _edit_policy(built, "reviewed")
    changed = _edit_policy(built, "edited after the review")
    before = _pins(built)
    with pytest.raises(PolicyRefusedError, match="not the expected"):
        _pin(built, monkeypatch, expect_digest=reviewed)
    assert _pins(built) == before
    with pytest.raises(UsageError, match="SHA-256 digest"):
        _pin(built, monkeypatch, expect_digest="sha256:abc")
    out = _pin(built, monkeypatch, expect_digest=changed.removeprefix("sha256:").upper())
    assert out["policy"] == changed
    assert out["expected_digest"] == changed
    statement = json.loads(_pins(built)[-1]["statement"])  # type: ignore[arg-type]
    predicate = json.loads(base64.b64decode(statement["payload"]))["predicate"]
    assert predicate["expected_digest"] == changed


def test_pin_with_expected_ref(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pin states the protected-branch commit it means: a working-tree edit not committed
    there is refused, the committed file is pinned with its commit recorded, and a ref that is
    no commit, looks like an option, or a file outside the repository is a usage error."""
    _edit_policy(built, "merged change")
    commit_all(built.repo, "policy: merged change")
    git(built.repo, "branch", "-f", "protected-main")
    _edit_policy(built, "local edit, never merged")
    before = _pins(built)
    with pytest.raises(PolicyRefusedError, match="is not delivery.toml as committed"):
        _pin(built, monkeypatch, expect_ref="protected-main")
    assert _pins(built) == before
    for ref, why in (("no-such-branch", "names no commit"), ("--upload-pack=x", "a commit id"),
                     ("main..x", "a commit id")):  # fmt: skip
        with pytest.raises(UsageError, match=why):
            _pin(built, monkeypatch, expect_ref=ref)
    git(built.repo, "checkout", "--", "delivery.toml")
    commit = git(built.repo, "rev-parse", "protected-main").strip()
    out = _pin(built, monkeypatch, expect_ref="protected-main")
    assert (out["expected_ref"], out["commit"]) == ("protected-main", commit)
    assert len(_pins(built)) == len(before) + 1
    outside = built.repo.parent / "elsewhere.toml"
    outside.write_text((built.repo / "delivery.toml").read_text() + "# x\n", encoding="utf-8")
    monkeypatch.setenv("RISKCTL_CONFIG", str(outside))
    with pytest.raises(UsageError, match="not inside the repository"):
        _pin(built, monkeypatch, expect_ref="protected-main")


def test_cli_pin_flags_state_the_expectation(built: Built, cli: Cli) -> None:
    """`policy pin --expect-digest` refuses another file (exit 3, nothing written) and pins the
    reviewed one; `--expect-ref` is passed through to the same check."""
    changed = _edit_policy(built, "edited before the pin")
    before = _pins(built)
    wrong = cli("policy", "pin", "--as", "admin", "--expect-digest", "sha256:" + "0" * 64)
    assert wrong.code == 3, wrong.stderr
    assert "not the expected" in wrong.stderr
    assert _pins(built) == before
    bad_ref = cli("policy", "pin", "--as", "admin", "--expect-ref", "HEAD", "--json")
    assert bad_ref.code != 0  # the edit is not committed at HEAD
    assert _pins(built) == before
    out = cli("policy", "pin", "--as", "admin", "--expect-digest", changed, "--json")
    assert out.code == 0, out.stderr
    assert out.json()["policy"] == changed
    assert len(_pins(built)) == len(before) + 1
