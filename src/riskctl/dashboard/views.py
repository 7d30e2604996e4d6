"""What the dashboard's JSON endpoints return, shaped from audit entries and reports (pure).

Every string here may come from the audit trail, which holds whatever people typed (an incident
summary, a rollback reason): the page renders them as text, never as markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC
from typing import Any

from riskctl.audit.actions import Action, known_action
from riskctl.audit.log import VerifyReport
from riskctl.dora import DoraReport

__all__ = [
    "audit_tail",
    "dora_series",
    "risk_runs",
    "verification",
]

#: How an entry whose action this riskctl does not know (another version wrote it) is shown.
UNKNOWN_ACTION = "unknown action (written by another riskctl version)"

#: Longest details summary shown per audit entry (the full entry stays in the trail).
SUMMARY_CHARS = 240
#: Most verification problems listed (the first bad entry is always among them: sorted by seq).
MAX_PROBLEMS = 50


def _summary(details: Any) -> str:
    if isinstance(details, Mapping) and details.get("statement"):
        # A signed statement (riskctl.trust) is a long opaque envelope: say it is there.
        details = {**details, "statement": "signed"}
    text = json.dumps(details, sort_keys=True, ensure_ascii=False, default=str)
    if text in ("{}", "null"):
        return ""
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _entry_summary(body: Mapping[str, Any]) -> str:
    summary = _summary(body.get("details"))
    if known_action(body.get("action")) is None:
        return f"{UNKNOWN_ACTION}: {summary}" if summary else UNKNOWN_ACTION
    return summary


def audit_tail(bodies: Sequence[Mapping[str, Any]], limit: int) -> dict[str, Any]:
    """The last ``limit`` entries, newest first, each with a one-line summary of its details;
    an entry whose action this riskctl does not know is shown as it is, marked unknown."""
    tail = list(bodies[-limit:]) if limit > 0 else []
    return {
        "total": len(bodies),
        "entries": [
            {
                "seq": b.get("seq"),
                "time": b.get("time"),
                "actor": b.get("actor"),
                "action": b.get("action"),
                "env": b.get("env"),
                "release": (b.get("details") or {}).get("release")
                if isinstance(b.get("details"), Mapping)
                else None,
                "digest": b.get("release"),
                "summary": _entry_summary(b),
            }
            for b in reversed(tail)
        ],
    }


def _run_outcome(action: Action, details: Mapping[str, Any]) -> str | None:
    """How a risk-run entry reads on the page, or None for an entry that is not a run."""
    match action:
        case Action.RISK_RUN:
            return "succeeded" if details.get("succeeded") else "failed attempt"
        case Action.RISK_RUN_FELL_BACK:
            return "fell back"
        case Action.RISK_RUN_FAILED:
            return "failed"
        case _:
            # Not read here (riskctl.audit.actions.READ_BY); risk-run.refused: none attempted.
            return None


def risk_runs(bodies: Iterable[Mapping[str, Any]], limit: int) -> dict[str, Any]:
    """The latest ``limit`` risk-run entries, newest first: attempts and fallback/failure
    outcomes, as :mod:`riskctl.envops` records them (an unknown action is no run)."""
    found: list[tuple[Action, Mapping[str, Any], str]] = []
    for b in bodies:
        action = known_action(b.get("action"))
        raw = b.get("details")
        d: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        outcome = None if action is None else _run_outcome(action, d)
        if action is not None and outcome is not None:
            found.append((action, b, outcome))
    runs = []
    for action, b, outcome in reversed(found[-limit:] if limit > 0 else []):
        raw = b.get("details")
        d = raw if isinstance(raw, Mapping) else {}
        runs.append(
            {
                "seq": b.get("seq"),
                "time": b.get("time"),
                "env": b.get("env"),
                "actor": b.get("actor"),
                "action": action.value,
                "outcome": outcome,
                "release": d.get("release"),
                "date": d.get("date"),
                "succeeded": d.get("succeeded") if action is Action.RISK_RUN else None,
                "exit_code": d.get("exit_code"),
                "seconds": d.get("seconds"),
                "output": d.get("output"),
                "summary": d.get("summary"),
                "producer": d.get("producer"),
            }
        )
    return {"total": len(found), "runs": runs}


def dora_series(report: DoraReport) -> dict[str, Any]:
    """Chart data behind the DORA figures: deploys per UTC day and lead time per deploy.

    Per day: ``succeeded`` deploys (what deployment frequency counts), of which ``failed`` later
    turned out to be failed changes, and ``aborted`` canaries (took traffic, then rolled back).
    Only days with a deploy are listed.
    """
    days: dict[str, dict[str, Any]] = {}
    leads: list[dict[str, Any]] = []
    for d in sorted(report.deploys, key=lambda x: x.at):
        day = d.at.astimezone(UTC).date().isoformat()
        bucket = days.setdefault(day, {"date": day, "succeeded": 0, "failed": 0, "aborted": 0})
        if d.reason.startswith("aborted"):
            bucket["aborted"] += 1
            continue
        bucket["succeeded"] += 1
        bucket["failed"] += int(d.failed)
        if d.lead_time_s is not None:
            leads.append(
                {
                    "release": d.release,
                    "at": d.at.isoformat(),
                    "lead_time_s": d.lead_time_s,
                    "failed": d.failed,
                }
            )
    return {"deploys_per_day": [days[k] for k in sorted(days)], "lead_times": leads}


def verification(report: VerifyReport) -> dict[str, Any]:
    """``riskctl audit verify``'s result; when it fails, ``error`` says so as the CLI does."""
    out = report.as_dict()
    out["problems_total"] = len(out["problems"])
    out["problems"] = out["problems"][:MAX_PROBLEMS]
    if not report.ok:
        first = report.first_bad_entry
        where = f"first bad entry #{first}" if first else "checkpoints do not verify"
        out["error"] = f"audit trail TAMPERED: {where}"
    return out
