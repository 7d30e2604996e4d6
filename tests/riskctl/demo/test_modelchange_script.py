"""`riskctl demo --story model-change`, in parts: its workspace keeps the policy its admin pinned,
and its script seeds every environment before deploying there and lifts vB's block only by
risk's explicit acceptance.

The whole story (builds, gates, six deploys, three replays) takes minutes, too long for the suite:
these tests run its preparation for real and its script with the ``riskctl`` boundary recorded;
test_modelchange_story checks its code changes and numbers on real code, and
tests/riskctl/shadow/test_modeljudge_flow the approval, refusal and acceptance on a real session.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from riskctl.config import load_config
from riskctl.demo import modelchange
from riskctl.demo.modelchange import ACCEPTANCE, PORT_SHIFT, ModelChangeDemo
from riskctl.demo.story import clean
from riskctl.trust.pin import read_pinned

ROOT = Path(__file__).resolve().parents[3]


def _git_repo(root: Path) -> Path:
    """A git repository holding the project's delivery.toml (what prepare() clones and reads)."""
    git = shutil.which("git")
    assert git is not None
    root.mkdir()
    shutil.copy(ROOT / "delivery.toml", root / "delivery.toml")
    who = ["-c", "user.name=eng-1", "-c", "user.email=eng-1@example.com"]
    for args in (["init", "-q"], ["add", "-A"], [*who, "commit", "-q", "-m", "base"]):
        subprocess.run([git, *args], cwd=root, check=True)
    return root


@pytest.mark.integration
def test_prepare_keeps_the_policy_its_admin_pinned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After prepare() the policy file in use is the pinned one (the lost regression: the story
    rewrote it after the pin, so every later decision was refused), with the story's ports, the
    people's generated keys and the audit anchors."""
    root = _git_repo(tmp_path / "project")
    monkeypatch.chdir(root)  # demo_policy() reads ./delivery.toml, as `riskctl demo` does
    demo = ModelChangeDemo(root, console=Console(file=io.StringIO()))
    try:
        day = demo.prepare()
        pinned = read_pinned(demo.home)
        in_use = load_config(demo.policy)
        assert pinned is not None
        assert pinned.digest == in_use.digest
        base = load_config(root / "delivery.toml").config
        for name, env in in_use.config.environments.items():
            assert env.port == base.environment(name).port + PORT_SHIFT
        for name in base.identities:
            assert (demo.keyring / name).exists()
            assert in_use.config.identities[name].keys
        assert in_use.config.audit.public_key
        assert day < dt.datetime.now(dt.UTC).date()
    finally:
        clean(root, quiet=True)  # stops the witness prepare() started
    assert not demo.work.exists()


class _Scripted(ModelChangeDemo):
    """The story with ``riskctl`` and git recorded instead of run (the subprocess boundary)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, console=Console(file=io.StringIO()))
        self.calls: list[tuple[tuple[str, ...], int]] = []

    def prepare(self) -> dt.date:
        self.repo.mkdir(parents=True)
        return dt.date(2026, 12, 4)

    def git(self, *args: str) -> str:
        return ""

    def riskctl(self, *args: str, expect: int = 0, capture: bool = False) -> str:
        self.calls.append((args, expect))
        if args[0] == "build":
            n = sum(1 for a, _ in self.calls if a[0] == "build")
            release = {"release": f"rel-{n}", "digest": f"sha256:{n:064d}"}
            return json.dumps({**release, "change_class": "calculation"})
        if args[:2] == ("audit", "report"):
            return (
                "| risk-1 | model change approval, judge BLOCKED, accepted by risk: why |\n"
                "### Model-change judge\n\nVerdict: **BLOCKED**\n### Segregation of duties\n"
                "### Refusals\n- #80 risk-1 approval.refused: model-judge: BLOCKED\n"
                "## Deployments\n"
            )
        return ""


@pytest.fixture
def script(tmp_path: Path) -> list[tuple[tuple[str, ...], int]]:
    """The riskctl commands of one run of the story, with the exit code each expects."""
    demo = _Scripted(tmp_path)
    demo.run()
    return demo.calls


def _env(args: tuple[str, ...]) -> str:
    return args[args.index("--env") + 1]


def test_every_environment_is_seeded_before_its_first_deploy(
    script: list[tuple[tuple[str, ...], int]],
) -> None:
    """No deploy reaches an environment before its store is migrated and loaded (the lost
    regression: v1's seed named no environment, so dev never became ready)."""
    migrated: set[str] = set()
    seeded: set[str] = set()
    deploys = 0
    for args, _ in script:
        if args[0] == "exec" and "upgrade" in args:
            migrated.add(_env(args))
        if args[0] == "exec" and ("load" in args or "generate" in args):
            assert _env(args) in migrated, f"data loaded before the migrations: {args}"
            seeded.add(_env(args))
        if args[0] == "deploy":
            deploys += 1
            assert _env(args) in seeded, f"deploy before seeding: {args}"
    assert seeded == {"dev", "staging"}
    assert deploys == 7  # v1, vA, vB to dev and staging; vB to staging again once accepted


def test_va_is_accepted_and_vb_only_by_an_explicit_acceptance(
    script: list[tuple[tuple[str, ...], int]],
) -> None:
    """vA's approval passes; vB's is refused (exit 3) and its staging deploy blocked (exit 1)
    until risk approves with --accept-judgement; then vB is deployed; the trail verifies last."""
    approvals = [(a, e) for a, e in script if a[0] == "approve"]
    assert [(a[1], e, "--accept-judgement" in a) for a, e in approvals] == [
        ("rel-2", 0, False),
        ("rel-3", 3, False),
        ("rel-3", 0, True),
    ]
    accept = approvals[2][0]
    assert accept[accept.index("--accept-judgement") + 1] == ACCEPTANCE
    assert all("--model-change" in a and "risk-1" in a for a, _ in approvals)
    where = {
        (a[0], e, "--accept-judgement" in a): i
        for i, (a, e) in enumerate(script)
        if a[:2] in (("approve", "rel-3"), ("deploy", "rel-3")) and _env(a) == "staging"
    }
    # refused, then kept out of staging, then accepted, then deployed: in that order
    assert list(where) == [
        ("approve", 3, False),
        ("deploy", 1, False),
        ("approve", 0, True),
        ("deploy", 0, False),
    ]
    assert sorted(where.values()) == list(where.values())
    assert script[-1][0] == ("audit", "verify")


def test_each_declared_change_is_committed_with_its_declaration(tmp_path: Path) -> None:
    """declare() writes the [model_change] declaration the build reads (reason, impact) and
    scales both engine modules by the change's factor."""
    demo = _Scripted(tmp_path)
    demo.repo.mkdir(parents=True)
    demo.declare("vB", 0.80, 0.3, "lighter tails")
    declaration = (demo.repo / modelchange.DECLARATIONS).read_text(encoding="utf-8")
    assert declaration == '[model_change]\nreason = "lighter tails"\nexpected_impact = 0.3\n'
    batch = (demo.repo / "src/risk_service/engine/batch.py").read_text(encoding="utf-8")
    assert "v * 0.8 for c, v in risk.var.items()" in batch


def test_evidence_shows_the_decisions_and_the_judge_section(tmp_path: Path) -> None:
    """The evidence printed from the compliance report holds the acceptance, the judge's refusal
    and the model-change judge section; a report without that section stops the story."""
    demo = _Scripted(tmp_path)
    text = demo.judge_evidence("rel-3")
    assert "accepted by risk: why" in text
    assert "approval.refused: model-judge: BLOCKED" in text
    assert "### Model-change judge" in text
    assert "Segregation" not in text

    class Empty(_Scripted):
        def riskctl(self, *args: str, expect: int = 0, capture: bool = False) -> str:
            return "# Compliance evidence\n"

    with pytest.raises(modelchange.DemoError, match="no model-change judge"):
        Empty(tmp_path / "other").judge_evidence("rel-3")


def test_a_failed_step_stops_the_story_with_exit_1(tmp_path: Path) -> None:
    """run_model_change_demo() turns a failed step into exit code 1 naming it, not a traceback."""

    class Failing(_Scripted):
        def riskctl(self, *args: str, expect: int = 0, capture: bool = False) -> str:
            raise modelchange.DemoError(f"`riskctl {args[0]}` exited 3, the story expected 0")

    out = io.StringIO()
    demo = Failing(tmp_path)
    demo.console = Console(file=out)
    assert modelchange.run_story(demo) == 1
    assert "demo stopped" in out.getvalue()
