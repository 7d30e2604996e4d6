"""`riskctl demo --story model-change`: two declared model changes before the model-change judge.

v1 goes to dev and staging (each environment on its own data, as in the main story). Then:

* **vA** makes the daily model 10 % more conservative (every VaR and ES × 1.10) and declares it
  (expected impact 15 %). Risk management's approval first has v1 and vA replay staging's last
  250 sessions through their own ``risk-service backtest``: the bank stays green, PLA stays green,
  so the approval is recorded with that evidence and vA passes staging's shadow comparison within
  the approved impact.
* **vB** gives the model lighter tails (× 0.80 of v1), declared too (30 %). The same replay shows
  the bank's traffic light moving from green to yellow (amber): the approval is refused with the
  evidence on the record, and without it the shadow comparison keeps vB out of staging. Risk then
  accepts vB explicitly (``--accept-judgement REASON``): the judge replays again, the approval
  records the acceptance beside that evidence, and vB passes staging within its declared impact.
  vB's compliance report shows the refusal, the acceptance and the side-by-side tables.

It reuses the main story's steps (:class:`~riskctl.demo.story.Demo`); the numbers come from the
demo's upstream delivery (seeded), on which × 1.10 leaves the bank green and × 0.80 turns it yellow.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from rich.panel import Panel

from riskctl.demo.patches import HARMLESS_PATCH, Patch
from riskctl.demo.story import Demo, DemoError

#: Ports of this story: the main story's + 1,000, so the two never collide on one host.
PORT_SHIFT = 11_000

#: Appended to the engine: the daily model (``batch_risk``) scaled by ``{factor}``.
_BATCH = '''

# {tag}: declared model change — the daily model's VaR and ES scaled by {factor}.
_batch_risk_{name} = batch_risk


def batch_risk(*args: Any, **kwargs: Any) -> BatchRisk:
    """The daily model with its tail scaled by {factor} ({tag})."""
    risk = _batch_risk_{name}(*args, **kwargs)
    return BatchRisk(
        var={{c: v * {factor} for c, v in risk.var.items()}},
        es=risk.es * {factor},
        es_level=risk.es_level,
        component={{c: v * {factor} for c, v in risk.component.items()}},
        pnl=risk.pnl,
        observations=risk.observations,
    )
'''
#: Appended to the engine: the API's historical figures scaled the same way.
_API = '''

# {tag}: the same model change in the API's historical figures.
_historical_risk_{name} = historical_risk


def historical_risk(*args: Any, **kwargs: Any) -> PortfolioRisk:
    """Historical risk with its tail scaled by {factor} ({tag})."""
    kwargs["scale"] = kwargs.get("scale", 1.0) * {factor}
    return _historical_risk_{name}(*args, **kwargs)
'''
DECLARATIONS = "delivery/release.toml"
#: Risk management's reason when it takes vB despite the judge.
ACCEPTANCE = "amber accepted for one quarter: the desk limits are cut by 20 % meanwhile"


def model_change(tag: str, factor: float) -> tuple[Patch, Patch]:
    """The engine edits of a model change scaling every figure by ``factor``."""
    message = f"engine: {tag}, tail scaling {factor:.2f}"
    fields = {"tag": tag, "name": tag.lower(), "factor": factor}
    return (
        Patch("src/risk_service/engine/batch.py", _BATCH.format(**fields), message),
        Patch("src/risk_service/engine/portfolio.py", _API.format(**fields), message),
    )


class ModelChangeDemo(Demo):
    """The model-change story (same workspace, keys, anchors and pinned policy as the main one;
    its own ports)."""

    port_shift = PORT_SHIFT

    def declare(self, tag: str, factor: float, impact: float, reason: str) -> None:
        """Commit a model change and its declaration (one commit, as an author would)."""
        for patch in model_change(tag, factor):
            patch.apply(self.repo)
        path = self.repo / DECLARATIONS
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f'[model_change]\nreason = "{reason}"\nexpected_impact = {impact}\n', encoding="utf-8"
        )
        self.git("add", "-A")
        self.git("commit", "-q", "-m", f"{tag}: {reason} (declared model change)")
        self.say(f"eng-1 commits [italic]{tag}: {reason}[/] and declares it in {DECLARATIONS}")

    def judge_evidence(self, release: str) -> str:
        """From ``release``'s compliance report: its model-change approvals and refusals, and the
        model-change judge section (every judgement with its table)."""
        report = self.riskctl("audit", "report", release, capture=True)
        start = report.find("### Model-change judge")
        end = report.find("### Segregation of duties")
        if start < 0 or end < start:
            raise DemoError(f"the compliance report of {release} has no model-change judge")
        decisions = [
            line
            for line in report[:start].splitlines()
            if "model change approval" in line or "model_change" in line
        ]
        refusals = report[report.find("### Refusals") :].split("## Deployments")[0]
        decisions += [line for line in refusals.splitlines() if "judge" in line]
        return "\n".join([*decisions, "", report[start:end].strip()])

    def run(self) -> None:
        """The whole model-change story."""
        business_date = self.prepare()
        self.console.print(
            Panel(
                "riskctl demo — story: model change. Two declared model changes go before the "
                "model-change judge: both releases replay staging's last 250 sessions through "
                "their own `risk-service backtest`, side by side, before risk management may "
                "approve. Policy: "
                f"[bold]{self.policy.relative_to(self.root)}[/] (via RISKCTL_CONFIG), as in the "
                "main story.",
                title="riskctl demo --story model-change",
            )
        )
        self.chapter("v1", "The model in service: v1 through dev and staging, on their data.")
        self.commit(HARMLESS_PATCH.named("v1: the model in service", "v1"))
        v1 = self.release("v1")
        self.seed(v1, business_date, "dev", "staging")
        self.through_staging(v1)

        self.chapter(
            "vA: a more conservative model",
            "VaR and ES × 1.10, declared with a 15 % expected impact. Risk asks the judge first.",
        )
        self.declare("vA", 1.10, 0.15, "tail scaling 1.10 for the new desk mandate")
        va = self.release("vA")
        self.riskctl("approve", va, "--env", "staging", "--model-change", "--as", "risk-1")
        self.say("accepted with its evidence; staging's shadow comparison allows the 15 %:")
        self.through_staging(va)

        self.chapter(
            "vB: lighter tails",
            "VaR and ES × 0.80 of v1, declared (30 %). The judge replays it against vA.",
        )
        self.git("revert", "--no-edit", "HEAD")
        self.declare("vB", 0.80, 0.3, "lighter tails from the new volatility filter")
        vb = self.release("vB")
        self.riskctl(
            "approve", vb, "--env", "staging", "--model-change", "--as", "risk-1", expect=3
        )
        self.say("without risk's approval the shadow comparison keeps vB out of staging:")
        self.through_staging(vb, staging_expect=1)
        self.riskctl("status", "--env", "staging")

        self.chapter(
            "risk accepts vB explicitly",
            "The block is lifted only by risk management's explicit acceptance, with a reason: "
            "the judge replays both models again and the approval records the acceptance beside "
            "that evidence.",
        )
        self.riskctl(
            "approve", vb, "--env", "staging", "--model-change", "--as", "risk-1",
            "--accept-judgement", ACCEPTANCE,
        )  # fmt: skip
        self.say("with the approval on record the shadow comparison allows vB's declared 30 %:")
        self.riskctl("deploy", vb, "--env", "staging", "--as", "qa-1")

        self.chapter(
            "evidence",
            "vB's compliance report: the refusal, the acceptance and the judge's side-by-side "
            "table each time; the audit trail verifies.",
        )
        self.console.print(self.judge_evidence(vb), markup=False, highlight=False)
        self.riskctl("audit", "verify")
        self.console.print(
            Panel(
                "done. vA was accepted on its evidence; vB was blocked (green → yellow) until "
                "risk accepted it explicitly, and both decisions carry the judge's table in the "
                "audit trail and the compliance report. `make demo-clean` stops what the demo "
                "started.",
                title="riskctl demo --story model-change",
            )
        )


def run_story(demo: ModelChangeDemo) -> int:
    """Run ``demo``: 0 when the story ran to its end, 1 otherwise (with the failing step)."""
    try:
        demo.run()
    except (DemoError, subprocess.CalledProcessError, OSError) as exc:
        demo.console.print(f"[bold red]demo stopped:[/] {exc}")
        return 1
    return 0


def run_model_change_demo(root: Path) -> int:
    """Entry point of ``riskctl demo --story model-change`` (see :func:`run_story`)."""
    return run_story(ModelChangeDemo(root))


__all__ = [
    "ACCEPTANCE",
    "ModelChangeDemo",
    "model_change",
    "run_model_change_demo",
    "run_story",
]
