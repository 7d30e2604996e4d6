"""No audit action name in riskctl's source is outside Action: every literal (or constant, or
f-string) passed as an action to record/refuse/append/Record/Note is scanned."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from riskctl.audit.actions import Action

SRC = Path(__file__).resolve().parents[3] / "src" / "riskctl"
#: Calls whose first argument (or ``action=``) is an audit action name.
_ACTION_CALLS = frozenset({"record", "refuse", "Record", "Note", "automatic_incident", "sink"})
#: What an action name looks like, for string literals appended to anything.
_LOOKS_LIKE_ACTION = re.compile(r"[a-z][a-z_]*(?:[.-][a-z_]+)+")
#: f-string action names not yet converted, in modules another change owns (issue 9): each
#: must still be there (a stale entry fails), so the list only shrinks.
PENDING_DYNAMIC: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Site:
    """One action name handed to the audit trail: where, and how it is written."""

    path: str
    line: int
    kind: str  # "literal", "member", "dynamic"
    text: str


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "string"`` (and ``NAME = Action.X``) assignments."""
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            if isinstance(target, ast.Name):
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    out[target.id] = value.value
                elif isinstance(value, ast.Attribute) and ast.unparse(value).startswith("Action."):
                    out[target.id] = ast.unparse(value)
    return out


def _action_args(call: ast.Call) -> list[ast.expr]:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    given = [kw.value for kw in call.keywords if kw.arg == "action"]
    if name in _ACTION_CALLS:
        return given or call.args[:1]
    if name == "append" and call.args:
        arg = call.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return [arg] if _LOOKS_LIKE_ACTION.fullmatch(arg.value) else []
    return []


def _sites_of(node: ast.expr, path: str, names: dict[str, str]) -> Iterator[Site]:
    if isinstance(node, ast.IfExp):
        yield from _sites_of(node.body, path, names)
        yield from _sites_of(node.orelse, path, names)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield Site(path, node.lineno, "literal", node.value)
    elif isinstance(node, ast.JoinedStr):
        yield Site(path, node.lineno, "dynamic", ast.unparse(node))
    elif isinstance(node, ast.Attribute) and ast.unparse(node).startswith("Action."):
        yield Site(path, node.lineno, "member", ast.unparse(node))
    elif isinstance(node, ast.Name) and node.id in names:
        value = names[node.id]
        kind = "member" if value.startswith("Action.") else "literal"
        yield Site(path, node.lineno, kind, value)


def scan(files: dict[str, str]) -> list[Site]:
    """Every action site in ``files`` (path → source); names resolve to module constants,
    then to any module's constant of that name (an import)."""
    trees = {path: ast.parse(text) for path, text in files.items()}
    everywhere: dict[str, str] = {}
    for tree in trees.values():
        everywhere.update(_constants(tree))
    sites = []
    for path, tree in trees.items():
        names = {**everywhere, **_constants(tree)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for arg in _action_args(node):
                    sites.extend(_sites_of(arg, path, names))
    return sites


def _problems(sites: list[Site]) -> list[str]:
    values = {a.value for a in Action}
    problems = []
    for s in sites:
        if s.kind == "literal" and s.text not in values:
            problems.append(f"{s.path}:{s.line}: {s.text!r} is not an Action member's value")
        elif s.kind == "member" and s.text.removeprefix("Action.") not in Action.__members__:
            problems.append(f"{s.path}:{s.line}: {s.text} is not a member")
        elif s.kind == "dynamic" and (s.path, s.text) not in PENDING_DYNAMIC:
            problems.append(f"{s.path}:{s.line}: {s.text} builds an action name at run time")
    return problems


def _source_sites() -> list[Site]:
    files = {str(p.relative_to(SRC)): p.read_text() for p in sorted(SRC.rglob("*.py"))}
    return scan(files)


def test_every_action_name_in_the_source_is_a_member() -> None:
    """Each literal, constant and member passed as an audit action is in Action; no f-string
    builds one outside the pending list."""
    assert _problems(_source_sites()) == []


def test_the_scan_sees_the_recording_sites() -> None:
    """The scan is not vacuous: it finds the literals, members and constants riskctl records."""
    sites = _source_sites()
    texts = {s.text for s in sites}
    assert len(sites) >= 40
    assert {"release.built", "deploy.succeeded", "notification.failed"} <= texts
    assert "Action.WITNESS_FAILED" in texts  # a member (riskctl.audit.anchors)
    assert "Action.INCIDENT_OPENED" in texts  # a constant naming a member (OPENED)


def test_pending_dynamic_names_are_still_there() -> None:
    """Each pending f-string is still in the source: a converted one must leave the list."""
    found = {(s.path, s.text) for s in _source_sites() if s.kind == "dynamic"}
    assert found >= PENDING_DYNAMIC


def test_the_scan_flags_what_it_must() -> None:
    """A mistyped literal, an unknown constant, an f-string and a missing member are flagged;
    a member, a member's value and a conditional of two values are not."""
    source = """
GOOD = "deploy.failed"
BAD = "deploy.fialed"
log.append([Record("release.bulit", "x", now)])
session.record(BAD)
session.record(GOOD)
session.record(Action.DEPLOY_STARTED)
session.record(Action.DEPLOY_STRATED)
session.record(f"risk-run-{x}")
session.record("notification.sent" if ok else "notification.failed")
run.refuse(action="deploy.refused")
problems.append("a sentence, not an action")
steps.append("rollout.stepp")
"""
    problems = _problems(scan({"m.py": source}))
    assert sorted(p.split(": ", 1)[0] for p in problems) == [
        "m.py:13", "m.py:4", "m.py:5", "m.py:8", "m.py:9",
    ]  # fmt: skip
