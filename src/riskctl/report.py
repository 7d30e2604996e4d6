"""The compliance evidence report of one release (SPEC §4), from the audit trail.

Everything in it is cited from audit entries (their ``#seq``) so an auditor can check each line
against ``riskctl history --json`` and ``riskctl audit verify``; artifacts on disk are re-hashed
against the digests recorded at build, and the provenance's DSSE signature is verified.

:func:`evidence` gathers the facts (pure, from entry bodies and the checks' outcomes);
:func:`to_markdown` writes them; :func:`to_html` renders that Markdown with raw HTML disabled, so
nothing in a commit message or a reason can inject markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markdown_it import MarkdownIt

from riskctl.audit.actions import Action, known_action
from riskctl.config import DeliveryConfig
from riskctl.incidents import fold_incidents
from riskctl.model import Release
from riskctl.shadow.modeljudge import render

__all__ = ["ArtifactCheck", "Evidence", "evidence", "to_html", "to_markdown"]


@dataclass(frozen=True)
class ArtifactCheck:
    """One build artifact: the digest recorded at build and what the file on disk hashes to."""

    name: str
    recorded: str
    on_disk: str | None  # None: the file is gone

    @property
    def ok(self) -> bool:
        return self.on_disk == self.recorded


@dataclass
class Evidence:
    """What the audit trail and the release directory say about one release."""

    release: Release
    built: Mapping[str, Any]
    generated_at: datetime
    artifacts: list[ArtifactCheck] = field(default_factory=list)
    signature: str = "not checked"
    signature_ok: bool = False
    gates: list[Mapping[str, Any]] = field(default_factory=list)
    reviews: list[Mapping[str, Any]] = field(default_factory=list)
    approvals: list[Mapping[str, Any]] = field(default_factory=list)
    judgements: list[Mapping[str, Any]] = field(default_factory=list)
    refusals: list[Mapping[str, Any]] = field(default_factory=list)
    deploys: list[Mapping[str, Any]] = field(default_factory=list)
    risk_runs: list[Mapping[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    duties: list[tuple[bool, str]] = field(default_factory=list)
    audit_ok: bool = False
    audit_summary: str = ""
    audit_problems: list[str] = field(default_factory=list)
    author_identity: str | None = None
    # Entries about the release whose action this riskctl does not know (another version
    # wrote them): listed, never interpreted, and the report is not complete.
    unknown: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every check in the report passed, and every entry about the release was read."""
        return (
            not self.unknown
            and self.audit_ok
            and self.signature_ok
            and all(a.ok for a in self.artifacts)
            and all(ok for ok, _ in self.duties)
        )


def _concerns(body: Mapping[str, Any], release: Release) -> bool:
    details: Mapping[str, Any] = body.get("details") or {}
    return (
        body.get("release") == release.digest
        or details.get("release") == release.id
        or details.get("aborted") == release.id
    )


def evidence(
    bodies: Iterable[Mapping[str, Any]],
    release: Release,
    config: DeliveryConfig,
    *,
    generated_at: datetime,
    artifacts: Sequence[ArtifactCheck],
    signature: tuple[bool, str],
    audit: tuple[bool, str, Sequence[str]],
) -> Evidence:
    """Gather the evidence for ``release`` from audit entry bodies (oldest first)."""
    entries = list(bodies)
    mine = [b for b in entries if _concerns(b, release)]
    ev = Evidence(
        release=release,
        built={},
        generated_at=generated_at,
        artifacts=list(artifacts),
        signature_ok=signature[0],
        signature=signature[1],
        audit_ok=audit[0],
        audit_summary=audit[1],
        audit_problems=list(audit[2]),
        author_identity=config.identity_for_email(release.author_email),
    )
    latest_gate: dict[str, Mapping[str, Any]] = {}
    for body in mine:
        action = known_action(body.get("action"))
        if action is None:
            ev.unknown.append(body)
            continue
        match action:
            case Action.RELEASE_BUILT:
                ev.built = ev.built or body
            case Action.GATE_RESULT:
                latest_gate[str((body.get("details") or {}).get("gate"))] = body
            case Action.REVIEW_RECORDED:
                ev.reviews.append(body)
            case Action.APPROVAL_RECORDED | Action.MODEL_CHANGE_APPROVED:
                ev.approvals.append(body)
            case Action.MODEL_CHANGE_JUDGED:
                ev.judgements.append(body)
            case (
                Action.DEPLOY_REFUSED | Action.APPROVAL_REFUSED | Action.REVIEW_REFUSED
                | Action.ROLLBACK_REFUSED
            ):  # fmt: skip
                ev.refusals.append(body)
            case (
                Action.DEPLOY_CHECKED | Action.DEPLOY_STARTED | Action.MIGRATIONS_APPLIED
                | Action.SMOKE_PASSED | Action.SHADOW_COMPARED | Action.ROLLOUT_STEP
                | Action.ANALYSIS_VERDICT | Action.DEPLOY_SUCCEEDED | Action.DEPLOY_FAILED
                | Action.ROLLBACK_PERFORMED
            ):  # fmt: skip
                ev.deploys.append(body)
            case Action.RISK_RUN:
                ev.risk_runs.append(body)
            case _:
                pass  # not read here: riskctl.audit.actions.READ_BY
    ev.gates = sorted(latest_gate.values(), key=lambda b: str(b["details"]["gate"]))
    incidents = fold_incidents(entries, display=True)
    ev.incidents = [i.as_dict() for i in incidents if i.release == release.id]
    ev.duties = _duties(ev, config)
    return ev


def _duties(ev: Evidence, config: DeliveryConfig) -> list[tuple[bool, str]]:
    """Segregation of duties, as the record shows it (each line passes or fails)."""
    author = ev.author_identity or ev.release.author
    approvers = {str(b["actor"]) for b in ev.approvals}
    reviewers = {str(b["actor"]) for b in ev.reviews}
    deployers = {
        str(b["actor"])
        for b in ev.deploys
        if b.get("action") == Action.DEPLOY_STARTED and b.get("env") == "prod"
    }
    out = [
        (author not in approvers, f"the author ({author}) approved nothing"),
        (author not in reviewers, f"the author ({author}) did not review the change"),
    ]
    if deployers:
        out.append((author not in deployers, f"the author ({author}) did not deploy to prod"))
        overlap = deployers & approvers
        out.append(
            (
                not overlap,
                "prod deployer(s) "
                + ", ".join(sorted(deployers))
                + " approved nothing"
                + (f" (but {', '.join(sorted(overlap))} did)" if overlap else ""),
            )
        )
    for b in ev.approvals:
        roles = ", ".join(config.roles_of(str(b["actor"]))) or "no role"
        out.append((True, f"{b['actor']} ({roles}) approved at {str(b['time'])[:19]}Z"))
    return out


# -- Markdown ---------------------------------------------------------------------------------


def _cell(value: object) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    text = " ".join(str(value if value is not None else "").split())
    return text.replace("\\", "\\\\").replace("|", "\\|") or "—"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _refusal_reason(body: Mapping[str, Any]) -> str:
    details: Mapping[str, Any] = body.get("details") or {}
    failed = [
        f"{c.get('name')}: {c.get('detail')}"
        for c in details.get("checks", [])
        if isinstance(c, Mapping) and not c.get("ok")
    ]
    return _cell("; ".join(failed) or details.get("message") or details.get("reason") or "")


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _deploy_line(b: Mapping[str, Any]) -> str:
    d: Mapping[str, Any] = b.get("details") or {}
    match known_action(b.get("action")):
        case Action.DEPLOY_STARTED:
            previous = d.get("previous") or "none"
            return f"deploy started by {b['actor']} ({d.get('strategy', '')}; previous {previous})"
        case Action.DEPLOY_CHECKED:
            return f"policy checked for {b['actor']} ({d.get('strategy', '')}): allowed"
        case Action.SHADOW_COMPARED:
            return f"shadow comparison: {d.get('summary', '')}"
        case Action.ANALYSIS_VERDICT:
            return f"analysis at {d.get('canary_weight', '?')} %: {d.get('summary', '')}"
        case Action.ROLLOUT_STEP:
            return f"step: {d.get('step', '')}"
        case Action.DEPLOY_SUCCEEDED | Action.DEPLOY_FAILED as done:
            word = "SUCCEEDED" if done is Action.DEPLOY_SUCCEEDED else "FAILED"
            return f"deploy {word}" + (f": {d['message']}" if d.get("message") else "")
        case Action.ROLLBACK_PERFORMED:
            return f"rollback to {d.get('release')}: {d.get('reason', '')}"
        case Action.SMOKE_PASSED:
            return "smoke tests passed"
        case Action.MIGRATIONS_APPLIED:
            return "database migrations applied"
        case _:
            return f"{b.get('action')}: {d.get('message') or d.get('reason') or ''}"


def _model_change_label(body: Mapping[str, Any]) -> str:
    judge = (body.get("details") or {}).get("judge") or {}
    if judge.get("accepted"):
        return f"model change approval, judge BLOCKED, accepted by risk: {judge['accepted']}"
    return "model change approval" + (f" (judge {judge['verdict']})" if judge else "")


def _judgements(ev: Evidence) -> list[str]:
    """Each judgement of the release's declared model change, with its side-by-side table."""
    out: list[str] = []
    for b in ev.judgements:
        out += [f"#{b['seq']} {str(b['time'])[:19]} in {b.get('env')}, asked by {b['actor']}:", ""]
        out += [*render(b.get("details") or {}), ""]
    return out or ["- not judged (no declared model change was approved or refused)", ""]


def to_markdown(ev: Evidence) -> str:
    """The report as Markdown (tables, one section per kind of evidence)."""
    r = ev.release
    built: Mapping[str, Any] = ev.built.get("details") or {}
    out = [
        f"# Compliance evidence: {r.id}",
        "",
        f"Generated {ev.generated_at.isoformat()} by riskctl from the audit trail. Overall: "
        f"**{'COMPLETE' if ev.complete else 'INCOMPLETE — see the failed checks below'}**.",
        "",
        "## Release",
        "",
        *_table(
            ("field", "value"),
            [
                ("release", r.id),
                ("digest", r.digest),
                ("version", r.version),
                ("commit", r.commit),
                ("author", f"{r.author} <{r.author_email}> ({ev.author_identity or 'unknown'})"),
                ("committed at", built.get("committed_at")),
                (
                    "built at / by",
                    f"{r.built_at.isoformat()} / {ev.built.get('actor', '?')} "
                    f"(#{ev.built.get('seq', '?')})",
                ),
                ("dirty working tree", "YES — not a clean build" if r.dirty else "no"),
                ("change class", f"{r.change_class} (against {r.base_release or 'nothing'})"),
                ("calculation files changed", ", ".join(r.calculation_files) or "none"),
                ("files changed", len(r.changed_files)),
                ("reversible", "yes" if r.reversible else f"NO: {r.irreversible_reason}"),
                (
                    "declared model change",
                    f"{r.model_change_impact:+.2%}: {r.model_change_reason}"
                    if r.model_change_impact is not None
                    else "none",
                ),
            ],
        ),
        "## Artifacts, SBOM and provenance",
        "",
        f"Provenance signature (DSSE, Ed25519): **{_mark(ev.signature_ok)}** — {ev.signature}",
        "",
        *_table(
            ("artifact", "recorded sha256", "on disk"),
            [
                (a.name, a.recorded, "matches" if a.ok else (a.on_disk or "MISSING"))
                for a in ev.artifacts
            ],
        ),
        "## Quality gates",
        "",
        *_table(
            ("gate", "status", "summary", "seconds", "log sha256", "entry"),
            [
                (
                    d["gate"],
                    d["status"],
                    d.get("summary", ""),
                    d.get("duration_s", ""),
                    d.get("log_digest", ""),
                    f"#{b['seq']}",
                )
                for b in ev.gates
                for d in [b["details"]]
            ]
            or [("none run", "", "", "", "", "")],
        ),
        "## Reviews and approvals",
        "",
        *_table(
            ("who", "what", "environment", "when (UTC)", "entry"),
            [
                (b["actor"], "code review", "", str(b["time"])[:19], f"#{b['seq']}")
                for b in ev.reviews
            ]
            + [
                (
                    b["actor"],
                    _model_change_label(b)
                    if b["action"] == Action.MODEL_CHANGE_APPROVED
                    else "approval"
                    + (" (break-glass)" if (b.get("details") or {}).get("break_glass") else ""),
                    b.get("env") or "",
                    str(b["time"])[:19],
                    f"#{b['seq']}",
                )
                for b in ev.approvals
            ]
            or [("none", "", "", "", "")],
        ),
        "### Model-change judge",
        "",
        *_judgements(ev),
        "### Segregation of duties",
        "",
        *[f"- {_mark(ok)}: {text}" for ok, text in ev.duties],
        "",
        "### Refusals",
        "",
        *(
            [
                f"- #{b['seq']} {str(b['time'])[:19]} {b['actor']} {b['action']}"
                f" ({b.get('env') or ''}): {_refusal_reason(b)}"
                for b in ev.refusals
            ]
            or ["- none"]
        ),
        "",
        "## Deployments",
        "",
    ]
    envs = list(dict.fromkeys(str(b.get("env")) for b in ev.deploys if b.get("env")))
    for env in envs or []:
        out += [f"### {env}", ""]
        out += _table(
            ("entry", "when (UTC)", "who", "what"),
            [
                (f"#{b['seq']}", str(b["time"])[:19], b["actor"], _deploy_line(b))
                for b in ev.deploys
                if b.get("env") == env
            ],
        )
    if not envs:
        out += ["Not deployed anywhere.", ""]
    out += ["## Risk runs", ""]
    out += _table(
        ("entry", "environment", "business date", "result", "seconds"),
        [
            (
                f"#{b['seq']}",
                b.get("env"),
                (b.get("details") or {}).get("date"),
                "succeeded" if (b.get("details") or {}).get("succeeded") else "FAILED",
                (b.get("details") or {}).get("seconds"),
            )
            for b in ev.risk_runs
        ]
        or [("—", "", "", "none run by this release", "")],
    )
    out += ["## Incidents", ""]
    out += _table(
        ("id", "status", "environment", "summary", "root cause", "regression test"),
        [
            (i["id"], i["status"], i["env"], i["summary"], i["root_cause"], i["regression_test"])
            for i in ev.incidents
        ]
        or [("none", "", "", "", "", "")],
    )
    out += [
        "## Audit trail verification",
        "",
        f"**{_mark(ev.audit_ok)}** — {ev.audit_summary}",
        "",
        *[f"- {p}" for p in ev.audit_problems],
        *[
            f"- #{b.get('seq')}: action {_cell(b.get('action'))} is unknown to this riskctl "
            "(written by another version): not interpreted in this report"
            for b in ev.unknown
        ],
        "",
    ]
    return "\n".join(out).rstrip() + "\n"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b1f23}table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid "
    "#ccd;padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}th{background:"
    "#eef}code{font-size:.85rem}h1{font-size:1.5rem}h2{border-bottom:1px solid #ccd}"
)


def to_html(markdown: str, title: str) -> str:
    """A standalone HTML page of the Markdown report; raw HTML in the input is escaped.

    Self-contained: Markdown images (``![x](url)``, e.g. in a commit message) stay text, and the
    page's Content-Security-Policy lets it load nothing from anywhere, so neither a reader's
    browser nor the PDF printer fetches anything.
    """
    md = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")
    body = md.render(markdown)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        f"{body}</body></html>\n"
    )
