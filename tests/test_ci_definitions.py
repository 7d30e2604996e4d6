"""The CI/CD definitions keep their supply-chain and safety properties (SPEC §5).

actionlint and hadolint check syntax and common mistakes; these tests pin down the project's own
rules, which neither linter enforces: actions pinned by commit SHA, read-only default permissions,
the CI running the repository's own `make test`, and a non-root, digest-pinned, multi-stage image
with a health check.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci-cd.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PRE_COMMIT = ROOT / ".pre-commit-config.yaml"
MAKEFILE = ROOT / "Makefile"

PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
VERSION_COMMENT = re.compile(r"^\s+#\s+v\d+\.\d+\.\d+\s*$")
DIGEST_PINNED_IMAGE = re.compile(r"^\S+:\S+@sha256:[0-9a-f]{64}$")
ROOT_USERS = {"root", "0"}


def _workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    triggers = workflow.get("on", workflow.get(True))
    assert isinstance(triggers, dict)
    return triggers


def _all_uses(workflow: dict[Any, Any]) -> list[str]:
    uses: list[str] = []
    for job in workflow["jobs"].values():
        if "uses" in job:  # a reusable workflow
            uses.append(job["uses"])
        uses.extend(step["uses"] for step in job.get("steps", []) if "uses" in step)
    return uses


def _run_commands(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job.get("steps", []) if "run" in step]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _dockerfile_instructions():
        if instruction[0] == "FROM":
            stages.append([])
        assert stages, "the Dockerfile must start with FROM"
        stages[-1].append(instruction)
    return stages


def _from_image(from_arguments: str) -> str:
    words = [word for word in from_arguments.split() if not word.startswith("--platform")]
    return words[0]


def test_workflow_runs_on_pull_requests_and_pushes_to_main() -> None:
    """The workflow triggers on every pull request and on pushes to main."""
    triggers = _triggers(_workflow())
    assert "pull_request" in triggers
    assert triggers["push"]["branches"] == ["main"]


def test_every_action_is_pinned_to_a_full_commit_sha() -> None:
    """Every `uses:` names a 40-hex commit SHA, never a movable tag or branch."""
    uses = _all_uses(_workflow())
    assert uses, "the workflow uses no actions at all"
    unpinned = [ref for ref in uses if not PINNED_USES.match(ref)]
    assert unpinned == []


def test_every_pinned_action_carries_its_version_comment() -> None:
    """Every `uses:` line ends with a `# vX.Y.Z` comment saying which release the SHA is."""
    lines = [
        match
        for line in WORKFLOW.read_text(encoding="utf-8").splitlines()
        if (match := USES_LINE.match(line)) and not line.lstrip().startswith("#")
    ]
    assert lines
    without_comment = [m["ref"] for m in lines if not VERSION_COMMENT.match(m["rest"])]
    assert without_comment == []


def test_top_level_permissions_are_read_only() -> None:
    """The workflow's default token can only read the repository contents."""
    assert _workflow()["permissions"] == {"contents": "read"}


def test_every_job_declares_its_permissions_and_a_timeout() -> None:
    """Each job states its own least permissions and a timeout, so none inherits or hangs."""
    for name, job in _workflow()["jobs"].items():
        assert "permissions" in job, name
        assert isinstance(job.get("timeout-minutes"), int), name


def test_the_test_job_runs_make_lint_and_make_test() -> None:
    """The build-and-test job runs the repository's own `make lint` and `make test`."""
    commands = "\n".join(_run_commands(_workflow()["jobs"]["build-and-test"]))
    assert re.search(r"^make lint(\s|$)", commands, re.MULTILINE)
    assert re.search(r"^make test(\s|$)", commands, re.MULTILINE)


def test_the_test_job_has_postgresql_15_with_database_test() -> None:
    """PostgreSQL 15 runs beside the tests on port 5432 with trust auth and database `test`."""
    postgres = _workflow()["jobs"]["build-and-test"]["services"]["postgres"]
    assert str(postgres["image"]).startswith("postgres:15")
    assert postgres["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    assert postgres["env"]["POSTGRES_DB"] == "test"
    assert "5432:5432" in postgres["ports"]


def test_coverage_xml_is_uploaded() -> None:
    """The test job keeps coverage.xml as a workflow artifact."""
    steps = _workflow()["jobs"]["build-and-test"]["steps"]
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert [s["with"]["path"] for s in uploads] == ["coverage.xml"]


def test_security_job_runs_bandit_and_a_strict_pip_audit() -> None:
    """The security job runs bandit and pip-audit with --strict (no silent false pass)."""
    commands = _run_commands(_workflow()["jobs"]["security"])
    assert any("bandit" in command for command in commands)
    audits = [command for command in commands if "bin/pip-audit" in command]
    assert audits
    assert all("--strict" in command for command in audits)


def test_dockerfile_has_more_than_one_stage() -> None:
    """The image is multi-stage: build tools stay in the builder stage."""
    assert len(_stages()) > 1


def test_every_base_image_is_pinned_by_digest() -> None:
    """Every FROM that is not an earlier stage names its base image by sha256 digest."""
    stage_names: set[str] = set()
    for stage in _stages():
        arguments = stage[0][1]
        image = _from_image(arguments)
        if image not in stage_names:
            assert DIGEST_PINNED_IMAGE.match(image), image
        if (alias := re.search(r"\bAS\s+(\S+)", arguments, re.IGNORECASE)) is not None:
            stage_names.add(alias[1])


def test_final_stage_runs_as_a_non_root_user() -> None:
    """The final stage switches to a user that is neither root nor UID 0."""
    users = [arguments for keyword, arguments in _stages()[-1] if keyword == "USER"]
    assert users, "the final stage never sets USER"
    user, _, group = users[-1].partition(":")
    assert user not in ROOT_USERS
    assert group not in ROOT_USERS


def test_final_stage_has_a_healthcheck_on_healthz() -> None:
    """The final stage declares a HEALTHCHECK that probes /healthz."""
    checks = [arguments for keyword, arguments in _stages()[-1] if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "CMD" in checks[0]
    assert "/healthz" in checks[0]


def test_final_stage_copies_only_the_venv_from_the_builder() -> None:
    """The final stage takes only /opt/venv from the builder, not sources or build output."""
    copies = [arguments for keyword, arguments in _stages()[-1] if keyword in {"COPY", "ADD"}]
    assert copies == ["--from=builder /opt/venv /opt/venv"]


@pytest.mark.parametrize("entry", [".git", ".venv", "tests", ".riskctl", "var", ".env"])
def test_dockerignore_keeps_local_state_out_of_the_build_context(entry: str) -> None:
    """The build context excludes version control, the venv, tests and local state."""
    entries = DOCKERIGNORE.read_text(encoding="utf-8").split()
    assert entry in entries


def test_pre_commit_runs_every_tool_that_make_lint_runs() -> None:
    """Each tool `make lint` calls from .venv/bin also runs as a local pre-commit hook."""
    makefile = MAKEFILE.read_text(encoding="utf-8")
    recipe = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    make_tools = set(re.findall(r"\$\(BIN\)/([\w-]+)", recipe))
    assert make_tools >= {"ruff", "mypy", "actionlint", "hadolint"}

    config = yaml.safe_load(PRE_COMMIT.read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in config["repos"])
    hook_tools = {hook["entry"].split()[0].removeprefix(".venv/bin/") for hook in hooks}
    assert make_tools <= hook_tools


# --- delivery jobs (on main) ---------------------------------------------------------------------

DELIVERY_JOBS = ("release", "image", "deploy-staging", "production", "rollback", "release-tag")


def _steps_text(job: str) -> str:
    return "\n".join(_run_commands(_workflow()["jobs"][job]))


def test_delivery_runs_only_on_main_after_ci_ok_in_order() -> None:
    """Release after ci-ok on pushes to main; image, staging, production, tag follow in order."""
    jobs = _workflow()["jobs"]
    assert jobs["release"]["needs"] == ["ci-ok"]
    condition = jobs["release"]["if"]
    assert "github.event_name == 'push'" in condition
    assert "github.ref == 'refs/heads/main'" in condition
    assert "release" in jobs["image"]["needs"]
    assert {"release", "image"} <= set(jobs["deploy-staging"]["needs"])
    assert "deploy-staging" in jobs["production"]["needs"]
    assert "production" in jobs["release-tag"]["needs"]
    assert "production" in jobs["rollback"]["needs"]
    assert "failure()" in jobs["rollback"]["if"]


PROVE = ".venv/bin/python -m riskctl.trust.github run -- "


def test_deploys_go_through_riskctl_on_either_target() -> None:
    """Staging and prod deploy with `riskctl deploy`, on this host (local target) or via the
    manifests script (Kubernetes), chosen by vars.DEPLOY_TARGET, each proven by the job's OIDC
    token; prod behind the `production` environment, after a `deploy --check` of the signed
    approvals."""
    jobs = _workflow()["jobs"]
    for job, env in (("deploy-staging", "staging"), ("production", "prod")):
        steps = jobs[job]["steps"]
        local = [s for s in steps if s.get("if") == "${{ vars.DEPLOY_TARGET != 'kubernetes' }}"]
        k8s = [s for s in steps if s.get("if") == "${{ vars.DEPLOY_TARGET == 'kubernetes' }}"]
        assert len(local) == len(k8s) == 1, job
        for step in (*local, *k8s):
            deploy = f'{PROVE}.venv/bin/riskctl deploy "$RELEASE" --env {env}'
            assert step["run"].startswith(deploy), job
        assert "--via" not in local[0]["run"]
        assert f'--via "scripts/ci/k8s-apply.sh {env} $IMAGE"' in k8s[0]["run"]
    assert jobs["deploy-staging"]["environment"] == "staging"
    assert jobs["production"]["environment"] == "production"
    prod = _run_commands(jobs["production"])
    check = f'{PROVE}.venv/bin/riskctl deploy "$RELEASE" --env prod --check'
    assert check in prod
    assert prod.index(check) < min(i for i, c in enumerate(prod) if "--rollback-plan" in c)
    assert ".venv/bin/riskctl audit verify" in prod
    script = (ROOT / "scripts" / "ci" / "k8s-apply.sh").read_text(encoding="utf-8")
    assert 'riskctl render k8s --env "$env_name" --image "$image"' in script
    assert "kubectl argo rollouts status" in script


def test_the_image_is_pushed_and_deployed_by_digest() -> None:
    """The image job's output is registry@digest, and the Kubernetes steps deploy that output."""
    jobs = _workflow()["jobs"]
    assert jobs["image"]["outputs"]["image"].endswith("@${{ steps.push.outputs.digest }}")
    for job in ("deploy-staging", "production"):
        assert jobs[job]["env"]["IMAGE"] == "${{ needs.image.outputs.image }}"
        assert "k8s-apply.sh" in _steps_text(job)
        assert "$IMAGE" in _steps_text(job)


#: The jobs that record in riskctl's trail, each proven by its OIDC token as one CI identity.
PROVING_JOBS = {
    "release": "release",
    "deploy-staging": "staging",
    "production": "production",
    "rollback": "production-rollback",
}


def test_write_permissions_only_where_needed() -> None:
    """Least permissions per job: packages only for the image job, contents only for the tag
    job, id-token only for the jobs that prove themselves to riskctl, and nothing else (no
    `actions: read`: no job reads who approved it any more)."""
    jobs = _workflow()["jobs"]
    for name, job in jobs.items():
        permissions = job["permissions"]
        writes = {k for k, v in permissions.items() if v == "write"}
        expected = {"image": {"packages"}, "release-tag": {"contents"}}.get(name, set())
        if name in PROVING_JOBS:
            expected = expected | {"id-token"}
        assert writes == expected, name
        reads = {k for k, v in permissions.items() if v == "read"}
        assert reads <= {"contents"}, name


def test_no_job_acts_with_an_asserted_identity() -> None:
    """No step names who acts: no `--as`, no RISKCTL_ACTOR, no approver glue, no key material;
    the OIDC request credentials and the token never appear in a step."""
    workflow = WORKFLOW.read_text(encoding="utf-8")
    for job in _workflow()["jobs"].values():
        for command in _run_commands(job):
            assert not re.search(r"--as\b", command), command
            for word in (
                "RISKCTL_ACTOR",
                "APPROVER",
                "gha.py approver",
                "RISKCTL_SIGNING_KEY",
                "RISKCTL_KEYRING",
                "RISKCTL_OIDC_TOKEN",
                "ACTIONS_ID_TOKEN_REQUEST",
            ):
                assert word not in command, (word, command)  # fmt: skip
        assert all(not re.search(r"--as\b", str(v)) for v in job.get("env", {}).values())
    assert "secrets." not in workflow.replace("secrets.GITHUB_TOKEN", "")


RECORDING = re.compile(
    r"\.venv/bin/riskctl (build|gates|deploy|abort|rollback|promote|approve|review|exec|"
    r"risk-run|incident|policy)\b"
)


def test_every_recording_riskctl_command_is_proven_by_a_fresh_token() -> None:
    """Each riskctl command that records runs under `riskctl.trust.github run --` (a fresh token
    for that command: a token proves one command), and only in the jobs holding id-token."""
    for name, job in _workflow()["jobs"].items():
        for command in _run_commands(job):
            joined = command.replace("\\\n", " ")
            for line in joined.splitlines():
                for match in RECORDING.finditer(line):
                    assert name in PROVING_JOBS, (name, line)
                    before = line[: match.start()].rstrip()
                    assert before.endswith(PROVE.rstrip()), line


def test_token_holding_jobs_run_only_on_pushes_to_main_in_their_environment() -> None:
    """The jobs with id-token run only after `release` (push to main), each in the GitHub
    environment its CI identity pins; the PR jobs get no token."""
    jobs = _workflow()["jobs"]
    for name, environment in PROVING_JOBS.items():
        assert jobs[name]["environment"] == environment, name
        assert name == "release" or "release" in jobs[name]["needs"], name
    for name in ("build-and-test", "security", "ci-ok", "image", "release-tag"):
        assert "id-token" not in jobs[name]["permissions"], name


def _ci_identities() -> dict[str, dict[str, str]]:
    policy = tomllib.loads((ROOT / "delivery.toml").read_text(encoding="utf-8"))
    found = {}
    for name, ident in policy["identities"].items():
        for matcher in ident.get("oidc", []):
            found[name] = matcher
    return found


def test_each_token_holding_job_maps_to_one_pinned_ci_identity() -> None:
    """delivery.toml's CI identities pin the repository (the placeholder a team replaces), the
    protected branch, this workflow file at that branch, the push event and one job's GitHub
    environment each; none has signing keys (nothing it signs counts as a person's)."""
    policy = tomllib.loads((ROOT / "delivery.toml").read_text(encoding="utf-8"))
    identities = _ci_identities()
    assert set(identities) == {"ci-release", "ci-staging", "ci-prod", "ci-prod-rollback"}
    workflow_path = WORKFLOW.relative_to(ROOT).as_posix()
    for name, matcher in identities.items():
        repo = matcher["repository"]
        assert repo == "example-org/risk-service", name
        assert matcher["ref"] == "refs/heads/main", name
        assert matcher["event_name"] == "push", name
        assert matcher["workflow_ref"] == f"{repo}/{workflow_path}@refs/heads/main", name
        assert "keys" not in policy["identities"][name], name
    by_environment = {m["environment"]: n for n, m in identities.items()}
    assert set(by_environment) == set(PROVING_JOBS.values())
    assert policy["oidc"]["audience"] == "riskctl"
    roles = {n: set(policy["identities"][n]["roles"]) for n in identities}
    assert roles["ci-prod"] & set(policy["environments"]["prod"]["deployers"])
    assert roles["ci-prod-rollback"] & set(policy["environments"]["prod"]["deployers"])
    assert roles["ci-staging"] & set(policy["environments"]["staging"]["deployers"])
    assert not roles["ci-release"] & set(policy["environments"]["prod"]["deployers"])
    assert all("admin" not in r for r in roles.values())


def test_ci_ok_stays_the_single_required_check() -> None:
    """ci-ok needs exactly the checks of every run; delivery jobs come after it, not before."""
    assert set(_workflow()["jobs"]["ci-ok"]["needs"]) == {"build-and-test", "security"}


def test_actionlint_knows_the_self_hosted_runner_labels() -> None:
    """Every custom runner label the workflow uses is declared for actionlint."""
    config = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text(encoding="utf-8"))
    declared = set(config["self-hosted-runner"]["labels"])
    used = {
        label
        for job in _workflow()["jobs"].values()
        if isinstance(job["runs-on"], list)
        for label in job["runs-on"]
        if label != "self-hosted"
    }
    assert used <= declared


def test_no_step_writes_into_the_checkout_before_riskctl_reads_it() -> None:
    """Shell redirections go to $RUNNER_TEMP or $GITHUB_OUTPUT, never into the working tree:
    `riskctl build` refuses a dirty tree (review: `> build.json` failed every run on main)."""
    targets = [
        target
        for job in _workflow()["jobs"].values()
        for command in _run_commands(job)
        for target in re.findall(r">>?\s*(\S+)", command)
    ]
    assert targets, "the workflow redirects nothing at all"
    stray = [t for t in targets if not t.startswith(('"$RUNNER_TEMP/', '"$GITHUB_OUTPUT"'))]
    assert stray == []
