"""Change classes (SPEC §4): a release's diff against the release in prod, classified (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from riskctl.model import ChangeClass

__all__ = ["classify"]


def classify(
    changed: Sequence[str] | None, calculation_paths: Sequence[str]
) -> tuple[ChangeClass, tuple[str, ...]]:
    """The class of a change and the calculation files it touches.

    ``changed`` is ``None`` when there is no base to diff against (nothing in prod yet, or its
    commit is unknown): that is treated as a calculation change, the safe default.
    """
    if changed is None:
        return ChangeClass.CALCULATION, ()
    touched = tuple(
        f for f in changed if any(fnmatchcase(f, pattern) for pattern in calculation_paths)
    )
    return (ChangeClass.CALCULATION if touched else ChangeClass.STANDARD), touched
