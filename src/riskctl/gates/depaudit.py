"""Dependency vulnerability audit against the OSV database (``querybatch`` API).

When the database cannot be reached the gate is ``unavailable`` — never a silent pass (pip-audit
prints "No known vulnerabilities found" when PyPI's JSON API fails; this gate does not).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from riskctl.config import GateSpec
from riskctl.gates.interface import GateContext, GateResult
from riskctl.model import GateStatus

__all__ = ["DependencyAuditGate", "locked_packages"]

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def locked_packages(lock: Path) -> list[tuple[str, str]]:
    """``(name, version)`` for every ``name==version`` line of a requirements lock."""
    pins = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins.append((match.group(1).lower(), match.group(2)))
    return pins


@dataclass(frozen=True)
class DependencyAuditGate:
    """Queries ``spec.database_url`` for every locked package."""

    name: str
    spec: GateSpec

    def run(self, ctx: GateContext) -> GateResult:
        started = time.monotonic()
        pins = locked_packages(ctx.lock)
        query = {
            "queries": [
                {"package": {"name": n, "ecosystem": "PyPI"}, "version": v} for n, v in pins
            ]
        }
        try:
            response = httpx.post(self.spec.database_url, json=query, timeout=10.0)
            response.raise_for_status()
            results = response.json()["results"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            reason = f"vulnerability database unreachable ({type(exc).__name__}): not audited"
            return GateResult(
                self.name,
                GateStatus.UNAVAILABLE,
                time.monotonic() - started,
                reason,
                f"{self.spec.database_url}: {exc}\n".encode(),
            )
        findings = []
        for (name, version), result in zip(pins, results, strict=False):
            for vuln in (result or {}).get("vulns") or []:
                findings.append(f"{name}=={version}: {vuln.get('id', '?')}")
        log = "\n".join(findings or [f"{len(pins)} packages, no known vulnerabilities"]) + "\n"
        status = GateStatus.FAILED if findings else GateStatus.PASSED
        summary = (
            f"{len(findings)} known vulnerabilities: {', '.join(findings[:3])}"
            if findings
            else f"{len(pins)} locked packages audited, none vulnerable"
        )
        return GateResult(
            self.name,
            status,
            time.monotonic() - started,
            summary,
            log.encode(),
            {"vulnerabilities": float(len(findings))},
        )
