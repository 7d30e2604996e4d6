"""Run gates in parallel (they are independent) with a progress display on stderr."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from riskctl.config import GateSpec
from riskctl.gates.command import CommandGate
from riskctl.gates.depaudit import DependencyAuditGate
from riskctl.gates.interface import Gate, GateContext, GateResult
from riskctl.gates.performance import PerformanceGate
from riskctl.model import GateStatus

__all__ = ["make_gate", "run_gates"]


def make_gate(name: str, spec: GateSpec) -> Gate:
    """The implementation for a gate spec's kind."""
    if spec.kind == "dependency-audit":
        return DependencyAuditGate(name, spec)
    if spec.kind == "performance":
        return PerformanceGate(name, spec)
    return CommandGate(name, spec)


def _safe_run(gate: Gate, ctx: GateContext) -> GateResult:
    try:
        return gate.run(ctx)
    except Exception as exc:
        return GateResult(gate.name, GateStatus.FAILED, 0.0, f"gate crashed: {exc!r}")


def run_gates(
    gates: Sequence[Gate],
    ctx: GateContext,
    *,
    workers: int,
    on_result: Callable[[GateResult], None],
    show_progress: bool,
) -> list[GateResult]:
    """Run ``gates`` concurrently; ``on_result`` is called (in this thread) as each finishes."""
    results: list[GateResult] = []
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=not show_progress,
        transient=False,
    ) as progress:
        tasks = {g.name: progress.add_task(f"{g.name}: running", total=1) for g in gates}
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(_safe_run, g, ctx): g for g in gates}
            for future in as_completed(futures):
                result = future.result()
                results.append(result)
                on_result(result)
                mark = {"passed": "✔", "failed": "✘", "unavailable": "?"}[result.status.value]
                progress.update(
                    tasks[result.gate],
                    description=f"{mark} {result.gate}: {result.status} — {result.summary}",
                    completed=1,
                )
    return sorted(results, key=lambda r: [g.name for g in gates].index(r.gate))
