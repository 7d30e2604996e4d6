"""DORA metrics from the audit trail (pure): what was deployed, how fast, how often it failed and
how long restoring took, with the definitions printed beside the figures (SPEC §4).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from riskctl.audit.actions import Action, known_action
from riskctl.clock import parse_instant
from riskctl.incidents import fold_incidents

__all__ = ["DEFINITIONS", "DeployRecord", "DoraReport", "dora_report"]

DEFINITIONS: dict[str, str] = {
    "deployment_frequency": (
        "successful deploys to the environment in the window (deploy.succeeded), per day and "
        "per week"
    ),
    "lead_time": (
        "commit time of a release (recorded at build) to its successful deploy to the "
        "environment; median and 90th percentile"
    ),
    "change_failure_rate": (
        "deploys that took traffic and then failed — aborted and rolled back, later rolled back "
        "by a person, or whose release failed the daily risk run or needed a fallback while it "
        "served — over all deploys that took traffic"
    ),
    "time_to_restore": (
        "per incident: impact start (the failed release's deploy, the failed run; else the "
        "opening) to service restored (rollback, fallback, a later good run) or resolution; "
        "median over incidents opened in the window"
    ),
    "build_time": "seconds to build each release (release.built), oldest first",
    "coverage": "test coverage of each release's tests gate (gate.result), oldest first",
}


@dataclass(frozen=True)
class DeployRecord:
    """One deploy that took traffic, and whether it turned out to be a failed change."""

    release: str
    at: datetime
    failed: bool
    reason: str = ""
    lead_time_s: float | None = None


@dataclass
class DoraReport:
    """The figures of one environment over one window."""

    env: str
    since: datetime
    until: datetime
    deploys: list[DeployRecord] = field(default_factory=list)
    restore_seconds: list[float] = field(default_factory=list)
    open_incidents: int = 0
    builds: list[tuple[str, datetime, float]] = field(default_factory=list)
    coverage: list[tuple[str, datetime, float]] = field(default_factory=list)
    # seq of each entry whose action this riskctl does not know (another version wrote it).
    unknown: list[int] = field(default_factory=list)

    @property
    def days(self) -> float:
        return max((self.until - self.since).total_seconds() / 86400.0, 1e-9)

    def as_dict(self) -> dict[str, Any]:
        succeeded = [d for d in self.deploys if not d.reason.startswith("aborted")]
        leads = [d.lead_time_s for d in succeeded if d.lead_time_s is not None]
        failed = [d for d in self.deploys if d.failed]
        rate = len(failed) / len(self.deploys) if self.deploys else None
        return {
            "env": self.env,
            "window": {
                "since": self.since.isoformat(),
                "until": self.until.isoformat(),
                "days": round(self.days, 3),
            },
            "deployment_frequency": {
                "deploys": len(succeeded),
                "per_day": len(succeeded) / self.days,
                "per_week": 7 * len(succeeded) / self.days,
                "band": _frequency_band(len(succeeded), self.days),
            },
            "lead_time": {
                "changes": len(leads),
                "median_s": _median(leads),
                "p90_s": _quantile(leads, 0.9),
            },
            "change_failure_rate": {
                "deploys": len(self.deploys),
                "failed": len(failed),
                "rate": rate,
                "failures": [
                    {"release": d.release, "at": d.at.isoformat(), "reason": d.reason}
                    for d in failed
                ],
            },
            "time_to_restore": {
                "incidents": len(self.restore_seconds) + self.open_incidents,
                "restored": len(self.restore_seconds),
                "still_open": self.open_incidents,
                "median_s": _median(self.restore_seconds),
                "max_s": max(self.restore_seconds) if self.restore_seconds else None,
            },
            "build_time": [
                {"release": r, "at": at.isoformat(), "seconds": s} for r, at, s in self.builds
            ],
            "coverage": [
                {"release": r, "at": at.isoformat(), "percent": p} for r, at, p in self.coverage
            ],
            "definitions": DEFINITIONS,
            # Only when the trail holds entries this riskctl cannot read (the figures leave
            # them out), so the shape of every report of a trail it wrote is unchanged.
            **({"unknown_entries": list(self.unknown)} if self.unknown else {}),
        }


def _median(xs: Sequence[float]) -> float | None:
    return float(statistics.median(xs)) if xs else None


def _quantile(xs: Sequence[float], q: float) -> float | None:
    """The ⌈q·n⌉-th smallest value (no interpolation: a lead time that happened)."""
    if not xs:
        return None
    ordered = sorted(xs)
    return float(ordered[max(math.ceil(q * len(ordered)) - 1, 0)])


def _frequency_band(deploys: int, days: float) -> str:
    """DORA's performance bands for deployment frequency (State of DevOps 2019–2023)."""
    per_day = deploys / days
    if per_day >= 1:
        return "elite (on demand, several a day)"
    if per_day >= 1 / 7:
        return "high (between once a day and once a week)"
    if per_day >= 1 / 30:
        return "medium (between once a week and once a month)"
    return "low (less than once a month)"


def dora_report(
    bodies: Iterable[Mapping[str, Any]], env: str, *, until: datetime, days: float
) -> DoraReport:
    """The DORA figures of ``env`` over ``days`` days up to ``until`` from audit entry bodies."""
    entries = list(bodies)
    since = until - timedelta(days=days)
    report = DoraReport(env=env, since=since, until=until)
    committed: dict[str, datetime] = {}
    current: str | None = None
    # release id -> index in report.deploys of its latest deploy that took traffic
    latest: dict[str, int] = {}

    def in_window(at: datetime) -> bool:
        return since <= at <= until

    def fail(release: str | None, reason: str) -> None:
        if release is None or release not in latest:
            return
        i = latest[release]
        d = report.deploys[i]
        if not d.failed:
            report.deploys[i] = DeployRecord(d.release, d.at, True, reason, d.lead_time_s)

    for body in entries:
        action = known_action(body.get("action"))
        if action is None:
            # Written by another riskctl version: the figures are shown without it, and say so.
            report.unknown.append(int(body.get("seq") or 0))
            continue
        details: Mapping[str, Any] = body.get("details") or {}
        at = parse_instant(body["time"])
        release = details.get("release")
        match action:
            case Action.RELEASE_BUILT:
                if release:
                    stamp = details.get("committed_at") or details.get("built_at")
                    if stamp:
                        committed[str(release)] = datetime.fromisoformat(str(stamp))
                    if in_window(at) and details.get("build_seconds") is not None:
                        report.builds.append((str(release), at, float(details["build_seconds"])))
            case Action.GATE_RESULT:  # whichever gate measures coverage
                percent = (details.get("metrics") or {}).get("coverage")
                if percent is not None and in_window(at):
                    report.coverage.append((str(release), at, float(percent)))
            case Action.DEPLOY_SUCCEEDED:
                if body.get("env") == env and release:
                    if in_window(at):
                        start = committed.get(str(release))
                        lead = (at - start).total_seconds() if start else None
                        latest[str(release)] = len(report.deploys)
                        report.deploys.append(DeployRecord(str(release), at, False, "", lead))
                    current = str(release)
            case Action.ROLLBACK_PERFORMED:
                if body.get("env") == env and release:
                    aborted = details.get("aborted")
                    if aborted:
                        # A canary that took traffic and was aborted: a deploy, and a failed
                        # one. One stopped before any traffic reached it is neither.
                        if details.get("took_traffic") is not False and in_window(at):
                            reason = f"aborted: {details.get('reason', '')}"
                            report.deploys.append(DeployRecord(str(aborted), at, True, reason))
                    elif current is not None and current != release:
                        fail(current, f"rolled back to {release}: {details.get('reason', '')}")
                    current = str(release)
            case Action.RISK_RUN_FAILED | Action.RISK_RUN_FELL_BACK:
                if body.get("env") == env:
                    how = "failed" if action is Action.RISK_RUN_FAILED else "fell back"
                    fail(current, f"{how} risk run {details.get('date', '')}")
            case _:
                pass  # not read here: riskctl.audit.actions.READ_BY; incidents are folded below

    for incident in fold_incidents(entries, display=True):
        if incident.env != env or not in_window(incident.opened_at):
            continue
        restore = incident.restore_seconds
        if restore is None:
            report.open_incidents += 1
        else:
            report.restore_seconds.append(restore)
    return report
