"""The gate boundary: a gate runs against a release's source tree and returns a result.

Implementations: :mod:`riskctl.gates.command` (lint, types, tests+coverage, security, migrations),
:mod:`riskctl.gates.performance` (latency of the reference book over HTTP) and
:mod:`riskctl.gates.depaudit` (OSV vulnerability database; ``unavailable`` when unreachable).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from riskctl.gates.sandbox import Sandbox, scrubbed_environment
from riskctl.model import GateStatus

__all__ = ["Gate", "GateContext", "GateResult"]


@dataclass(frozen=True)
class GateContext:
    """Where a gate runs: the release's source tree, a scratch dir, the interpreter, the lock,
    and the sandbox its commands run in (:mod:`riskctl.gates.sandbox`)."""

    source: Path
    work: Path
    python: str
    lock: Path
    logs: Path
    sandbox: Sandbox = field(default_factory=Sandbox)

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The process environment: an allow-list (riskctl's bin dir first, the release's code
        importable) plus the gate's own ``extra``, never riskctl's own variables."""
        return scrubbed_environment(
            python=self.python, source=self.source, work=self.work, extra=extra
        )

    def command(self, argv: list[str], *, network: bool = False) -> list[str]:
        """``argv`` wrapped to run in the sandbox, in the source tree."""
        return self.sandbox.wrap(argv, cwd=self.source, network=network)

    def substitute(self, text: str, **extra: str) -> str:
        values = {
            "python": self.python,
            "src": str(self.source),
            "work": str(self.work),
            "lock": str(self.lock),
            **extra,
        }
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text


@dataclass(frozen=True)
class GateResult:
    """A gate's verdict with its evidence: how long it took and the digest of its log."""

    gate: str
    status: GateStatus
    duration_s: float
    summary: str
    log: bytes = field(repr=False, default=b"")
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def log_digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.log).hexdigest()


class Gate(Protocol):
    """One quality gate."""

    @property
    def name(self) -> str: ...

    def run(self, ctx: GateContext) -> GateResult: ...
