"""Gates that run commands in the release's tree: pass when every command exits 0 (and, for
``coverage``, when the coverage JSON report meets the minimum)."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from riskctl._proc import run, which
from riskctl.config import GateSpec
from riskctl.errors import UsageError
from riskctl.gates.interface import GateContext, GateResult
from riskctl.model import GateStatus

__all__ = ["CommandGate"]


@dataclass(frozen=True)
class CommandGate:
    """A ``command`` or ``coverage`` gate from ``delivery.toml``."""

    name: str
    spec: GateSpec

    def run(self, ctx: GateContext) -> GateResult:
        started = time.monotonic()
        report = ctx.work / f"{self.name}.report.json"
        report.unlink(missing_ok=True)  # never judge a stale report
        env = ctx.environment(
            {k: ctx.substitute(v, report=str(report)) for k, v in self.spec.env.items()}
        )
        log: list[bytes] = []
        status, summary = GateStatus.PASSED, ""
        for command in self.spec.commands:
            argv = [ctx.substitute(a, report=str(report)) for a in command]
            absent = [f for f in self.spec.optional_files if f in argv]
            if absent and not all((ctx.source / f).exists() for f in absent):
                log.append(
                    f"$ {' '.join(argv)}\nskipped: {', '.join(absent)} not present\n".encode()
                )
                continue
            log.append(f"$ {' '.join(argv)}\n".encode())
            try:
                program = which(argv[0], [Path(ctx.python).parent])
                proc = run(
                    ctx.command([program, *argv[1:]], network=self.spec.network == "host"),
                    cwd=ctx.source,
                    env=env,
                    timeout=self.spec.timeout_s,
                    check=False,
                )
            except UsageError as exc:
                log.append(f"{exc}\n".encode())
                status, summary = GateStatus.FAILED, str(exc)
                break
            except subprocess.TimeoutExpired:
                status, summary = GateStatus.FAILED, f"timed out after {self.spec.timeout_s:g}s"
                break
            log.extend([proc.stdout, proc.stderr, f"exit {proc.returncode}\n".encode()])
            if proc.returncode != 0:
                status = GateStatus.FAILED
                summary = f"`{' '.join(command)}` exited {proc.returncode}"
                break
        metrics: dict[str, float] = {}
        if status is GateStatus.PASSED and self.spec.kind == "coverage":
            status, summary, metrics = self._judge_coverage(report)
        duration = time.monotonic() - started
        if status is GateStatus.PASSED and not summary:
            summary = f"{len(self.spec.commands)} command(s) passed"
        return GateResult(self.name, status, duration, summary, b"".join(log), metrics)

    def _judge_coverage(self, report_path: Path) -> tuple[GateStatus, str, dict[str, float]]:
        path = report_path
        try:
            totals = json.loads(path.read_text(encoding="utf-8"))["totals"]
            percent = float(totals["percent_covered"])
        except (OSError, ValueError, KeyError, TypeError):
            return GateStatus.FAILED, "no coverage report was produced", {}
        ok = percent >= self.spec.min_coverage
        verdict = GateStatus.PASSED if ok else GateStatus.FAILED
        return (
            verdict,
            f"coverage {percent:.1f}% (minimum {self.spec.min_coverage:g}%)",
            {"coverage": percent},
        )
