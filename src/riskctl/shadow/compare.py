"""Field-by-field comparison of two releases' answers to the same requests.

Every numeric leaf of every response is compared: ``portfolio_var``, ``expected_shortfall``, each
position's ``component_var``/``marginal_var``/``incremental_var``/``standalone_var``, notionals,
observation counts. A difference breaches when ``|new − old| > abs + rel·|old|``. A release that
declares an expected model change, approved by risk management, may move figures up to its
declared relative impact — and no further.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Response fields that identify rather than measure, never compared.
_IGNORED = frozenset({"version", "method", "convention", "warnings", "request_id"})


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Allowed difference per figure: ``abs`` in the figure's unit plus ``rel`` of the old value."""

    rel: float = 1e-9
    abs: float = 1e-6


@dataclass(frozen=True, slots=True)
class Difference:
    """One figure of one request that moved."""

    request: str  # e.g. "golden-3/historical"
    field: str  # e.g. "component_var.GS04"
    old: float | None
    new: float | None

    @property
    def absolute(self) -> float:
        """|new − old| (inf when one side is missing)."""
        if self.old is None or self.new is None:
            return math.inf
        return abs(self.new - self.old)

    @property
    def relative(self) -> float:
        """|new − old| / |old| (inf when old is 0 and new is not)."""
        if self.old is None or self.new is None:
            return math.inf
        if self.old == 0.0:
            return 0.0 if self.new == 0.0 else math.inf
        return abs(self.new - self.old) / abs(self.old)

    def describe(self) -> str:
        """One line for reports."""
        if self.old is None or self.new is None:
            return f"{self.request} {self.field}: {self.old} -> {self.new}"
        return (
            f"{self.request} {self.field}: {self.old:,.2f} -> {self.new:,.2f} "
            f"({(self.new - self.old) / abs(self.old) * 100 if self.old else math.inf:+.2f} %)"
        )


@dataclass(frozen=True)
class ShadowReport:
    """The outcome: passed or not, every breach, and the largest moves for people to read."""

    passed: bool
    compared: int  # figures compared
    requests: int
    breaches: tuple[Difference, ...]
    failures: tuple[str, ...] = ()  # requests one side could not answer
    allowance: float | None = None
    largest: tuple[Difference, ...] = field(default=())

    def summary(self) -> str:
        """One line: what was compared and what happened."""
        verdict = "passed" if self.passed else "BLOCKED"
        text = (
            f"shadow comparison {verdict}: {self.requests} requests, {self.compared} figures, "
            f"{len(self.breaches)} beyond tolerance"
        )
        if self.allowance is not None:
            text += f" (declared model change allows up to {self.allowance * 100:g} %)"
        if self.failures:
            text += f", {len(self.failures)} failed requests"
        return text

    def lines(self, top: int = 10) -> list[str]:
        """The report: summary, failed requests and the largest moves by portfolio/position."""
        out = [self.summary()]
        out += [f"  failed: {f}" for f in self.failures]
        if self.largest:
            out.append("  largest moves:")
            out += [f"    {d.describe()}" for d in self.largest[:top]]
        return out


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not prefix and key in _IGNORED:
                continue
            yield from _leaves(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, bool):
        return
    elif isinstance(value, (int, float)):
        yield prefix, float(value)


def compare_responses(
    old: Mapping[str, Mapping[str, Any] | None],
    new: Mapping[str, Mapping[str, Any] | None],
    tolerance: Tolerance,
    *,
    allowance: float | None = None,
) -> ShadowReport:
    """Compare responses keyed by request label; ``None`` marks a request that failed.

    ``allowance`` (a relative move, e.g. 0.6 for 60 %) widens the tolerance for a declared,
    approved model change.
    """
    breaches: list[Difference] = []
    moved: list[Difference] = []
    failures: list[str] = []
    compared = 0
    for label in sorted(set(old) | set(new)):
        a, b = old.get(label), new.get(label)
        if a is None or b is None:
            side = "stable" if a is None else "new"
            failures.append(f"{label} ({side} release gave no valid answer)")
            continue
        fa, fb = dict(_leaves(a)), dict(_leaves(b))
        for name in sorted(set(fa) | set(fb)):
            compared += 1
            diff = Difference(label, name, fa.get(name), fb.get(name))
            if diff.absolute == 0.0:
                continue
            moved.append(diff)
            base = abs(diff.old) if diff.old is not None else 0.0
            limit = tolerance.abs + tolerance.rel * base
            if allowance is not None:
                limit = max(limit, allowance * base)
            if diff.absolute > limit:
                breaches.append(diff)

    # Headline figures first, then by size of relative move.
    def rank(d: Difference) -> tuple[int, float]:
        headline = d.field in ("portfolio_var", "expected_shortfall")
        return (0 if headline else 1, -min(d.relative, 1e300))

    largest = tuple(sorted(breaches or moved, key=rank))
    return ShadowReport(
        passed=not breaches and not failures,
        compared=compared,
        requests=len(set(old) | set(new)),
        breaches=tuple(breaches),
        failures=tuple(failures),
        allowance=allowance,
        largest=largest,
    )


__all__ = ["Difference", "ShadowReport", "Tolerance", "compare_responses"]
