"""The executor's rules: the only caller of save, time only from the injected clock."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.riskctl.rollout.fakes import rig

ROLLOUT = Path(__file__).resolve().parents[3] / "src" / "riskctl" / "rollout"


def _calls(path: Path, attribute: str) -> list[int]:
    """Lines of ``path`` that call ``<something>.attribute(...)``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == attribute
    ]


def test_only_the_executor_saves_state() -> None:
    """Across the rollout package, persisting the environment's state happens in one place."""
    savers = {p.name: _calls(p, "save") for p in sorted(ROLLOUT.glob("*.py"))}
    assert {name for name, lines in savers.items() if lines} == {"executor.py"}
    assert len(savers["executor.py"]) == 1


def test_rollout_code_reads_no_clock_of_its_own() -> None:
    """No module of the rollout package imports time or datetime: the clock is injected."""
    for path in sorted(ROLLOUT.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {"time", "datetime"} & (imported | modules), path.name


def test_timed_pause_waits_on_the_injected_clock(tmp_path: Path) -> None:
    """A 5 s pause before each analysis passes on the manual clock, not in real time."""
    r = rig(tmp_path, pause_s=5)
    r.deploy("prod", "v1")
    before = r.clock.monotonic()
    assert r.deploy("prod", "v2").ok
    assert r.clock.monotonic() - before >= 10  # two pauses of 5 s (10 % and 50 %)
    assert r.checks.analysed == [10, 50]
