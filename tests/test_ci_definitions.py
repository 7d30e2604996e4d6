"""The CI/CD definitions keep their supply-chain and safety properties (SPEC §5).

actionlint and hadolint check syntax and common mistakes; these tests pin down the project's own
rules, which neither linter enforces: actions pinned by commit SHA, read-only default permissions,
the CI running the repository's own `make test`, and a non-root, digest-pinned, multi-stage image
with a health check.
"""

from __future__ import annotations

import re
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


def test_deploys_go_through_riskctl_on_either_target() -> None:
    """Staging and prod deploy with `riskctl deploy`, on this host (local target) or via the
    manifests script (Kubernetes), chosen by vars.DEPLOY_TARGET; prod behind the `production`
    environment, deployed as the person who approved it."""
    jobs = _workflow()["jobs"]
    for job, env in (("deploy-staging", "staging"), ("production", "prod")):
        steps = jobs[job]["steps"]
        local = [s for s in steps if s.get("if") == "${{ vars.DEPLOY_TARGET != 'kubernetes' }}"]
        k8s = [s for s in steps if s.get("if") == "${{ vars.DEPLOY_TARGET == 'kubernetes' }}"]
        assert len(local) == len(k8s) == 1, job
        for step in (*local, *k8s):
            assert step["run"].startswith(f'.venv/bin/riskctl deploy "$RELEASE" --env {env}'), job
        assert "--via" not in local[0]["run"]
        assert f'--via "scripts/ci/k8s-apply.sh {env} $IMAGE"' in k8s[0]["run"]
    assert jobs["deploy-staging"]["environment"] == "staging"
    assert jobs["production"]["environment"] == "production"
    assert '--as "$APPROVER"' in _steps_text("production")
    assert 'gha.py approver "$RUNNER_TEMP/approvals.json" production' in _steps_text("production")
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


def test_write_permissions_only_where_needed() -> None:
    """Only the image job may write packages and only the tag job may write contents."""
    jobs = _workflow()["jobs"]
    for name in DELIVERY_JOBS:
        permissions = jobs[name]["permissions"]
        writes = {k for k, v in permissions.items() if v == "write"}
        expected = {"image": {"packages"}, "release-tag": {"contents"}}.get(name, set())
        assert writes == expected, name


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
