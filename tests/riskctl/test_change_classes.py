"""Change classes: each release records its diff against prod; calculation changes take the full
path, docs-only changes may take the fast track but still pass staging."""

from __future__ import annotations

from datetime import date

import pytest

from riskctl.changes import classify
from riskctl.clock import ExchangeCalendar
from riskctl.errors import PolicyRefusedError
from riskctl.model import ChangeClass
from tests.riskctl.conftest import Built, FakeTarget, session_for
from tests.riskctl.fixture_project import AUTHOR, commit_all

CALC = ("src/fixture_svc/engine*", "requirements/runtime.lock")


def test_classify_is_pure() -> None:
    """Engine or lock changes are calculation; docs are standard; no base is calculation."""
    assert classify(["docs/index.md"], CALC) == (ChangeClass.STANDARD, ())
    assert classify(["src/fixture_svc/engine.py", "docs/a.md"], CALC) == (
        ChangeClass.CALCULATION,
        ("src/fixture_svc/engine.py",),
    )
    assert classify(None, CALC) == (ChangeClass.CALCULATION, ())


def test_exchange_calendar_knows_nyse_holidays() -> None:
    """2026-01-19 (MLK day) is no session; 2026-03-09 is."""
    cal = ExchangeCalendar("XNYS")
    assert not cal.is_session(date(2026, 1, 19))
    assert cal.is_session(date(2026, 3, 9))


def _run(
    built: Built, mp: pytest.MonkeyPatch, target: FakeTarget, actor: str, fn: object
) -> object:
    session = session_for(built.repo, built.home, mp, actor, target=target)
    try:
        return fn(session)  # type: ignore[operator]
    finally:
        session.close()


def test_engine_change_refused_on_fast_track_docs_change_takes_it(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v2 touching the engine is refused on the fast track; v3 (docs) takes it after staging."""
    target = FakeTarget()
    rel = built.release
    for actor, step in [
        ("eng-2", lambda s: s.review(rel)),
        ("qa-1", lambda s: s.deploy(rel, "staging")),
        ("qa-1", lambda s: s.approve(rel, "staging")),
        ("risk-1", lambda s: s.approve(rel, "prod")),
        ("sre-1", lambda s: s.deploy(rel, "prod", rollback_plan="stop")),
    ]:
        _run(built, monkeypatch, target, actor, step)

    engine = built.repo / "src" / "fixture_svc" / "engine.py"
    engine.write_text(engine.read_text().replace('"confidence", 0.99', '"confidence", 0.995'))
    commit_all(built.repo, "engine: new default confidence")
    v2 = _run(built, monkeypatch, target, "eng-1", lambda s: s.build(allow_dirty=False))
    assert v2["change_class"] == "calculation"  # type: ignore[index]
    assert v2["calculation_files"] == ["src/fixture_svc/engine.py"]  # type: ignore[index]
    assert v2["base_release"] == rel  # type: ignore[index]
    with pytest.raises(PolicyRefusedError, match="fast track refused"):
        _run(built, monkeypatch, target, "sre-1",
             lambda s: s.deploy(v2["release"], "prod", fast_track=True))  # type: ignore[index]  # fmt: skip

    # v3 reverts the engine change and edits docs: against prod (v1) no calculation path moves.
    engine.write_text(engine.read_text().replace('"confidence", 0.995', '"confidence", 0.99'))
    (built.repo / "docs" / "index.md").write_text("# Fixture service\n\nMore docs.\n")
    # (a docs-only diff leaves the wheel identical, i.e. the same release: touch the package doc)
    (built.repo / "src" / "fixture_svc" / "__init__.py").write_text(
        '"""Fixture service (docs)."""\n'
    )
    commit_all(built.repo, "docs only", author=AUTHOR)
    v3 = _run(built, monkeypatch, target, "eng-1", lambda s: s.build(allow_dirty=False))
    assert v3["change_class"] == "standard", v3  # type: ignore[index]
    r3 = v3["release"]  # type: ignore[index]
    _run(built, monkeypatch, target, "eng-1",
         lambda s: s.gates(r3, only=("lint", "unit", "security", "dependency-audit"),
                           progress=False))  # fmt: skip
    _run(built, monkeypatch, target, "risk-1", lambda s: s.approve(r3, "prod"))
    with pytest.raises(PolicyRefusedError, match="not yet deployed to staging"):
        _run(built, monkeypatch, target, "sre-1", lambda s: s.deploy(r3, "prod", fast_track=True))
    _run(built, monkeypatch, target, "eng-2", lambda s: s.review(r3))
    _run(built, monkeypatch, target, "qa-1", lambda s: s.deploy(r3, "staging"))
    # No QA sign-off: the fast track waives it, and only it.
    out = _run(built, monkeypatch, target, "sre-1", lambda s: s.deploy(r3, "prod", fast_track=True))
    assert out["release"] == r3  # type: ignore[index]
    with pytest.raises(PolicyRefusedError, match="missing qa-signoff"):
        _run(built, monkeypatch, target, "sre-1", lambda s: s.deploy(r3, "prod"))
