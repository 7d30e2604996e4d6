"""Field-by-field comparison of two releases' answers to the same requests.

Every numeric leaf of every response is compared: ``portfolio_var``, ``expected_shortfall``, each
position's ``component_var``/``marginal_var``/``incremental_var``/``standalone_var``, notionals,
observation counts. A difference breaches when ``|new − old| > abs + rel·|old|``. A release that
declares an expected model change, approved by risk management, may move figures up to its
declared relative impact — and no further.

Besides the golden set, recent real requests sampled by the stable release may be replayed
(labelled ``recent-<n>``, see :func:`compare_replay`): their figures are compared the same way,
and a request one release answers successfully and the other with an error is a difference too.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from riskctl.riskclient import PORTFOLIO_VAR, VAR

#: Response fields that identify rather than measure, never compared.
_IGNORED = frozenset({"version", "method", "convention", "warnings", "request_id"})
#: Label prefix of replayed recent requests (golden-set labels are ``portfolio/method``).
RECENT_PREFIX = "recent-"
_RECENT = re.compile(r"^recent-(\d+)$")


def is_recent(label: str) -> bool:
    """Whether ``label`` names a replayed recent request rather than a golden-set case."""
    return _RECENT.match(label) is not None


@dataclass(frozen=True, slots=True)
class Answer:
    """One release's answer to one request: HTTP status (0: no answer) and its JSON object."""

    status: int
    body: Mapping[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """A 2xx with a JSON object to compare."""
        return 200 <= self.status < 300 and self.body is not None

    def describe(self) -> str:
        """``HTTP 422``, ``HTTP 200 without a JSON object`` or ``no answer``."""
        if self.status == 0:
            return "no answer"
        if 200 <= self.status < 300 and self.body is None:
            return f"HTTP {self.status} without a JSON object"
        return f"HTTP {self.status}"


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
    """The outcome: passed or not, every breach, and the largest moves for people to read.

    ``requests`` counts golden-set cases and replayed recent requests together; ``replayed`` is
    the share of recent ones, and ``replay_note`` says why there were none (or fewer).
    """

    passed: bool
    compared: int  # figures compared
    requests: int
    breaches: tuple[Difference, ...]
    failures: tuple[str, ...] = ()  # requests one side could not answer, or answered differently
    allowance: float | None = None
    largest: tuple[Difference, ...] = field(default=())
    replayed: int = 0  # recent real requests replayed (labels recent-<n>)
    replay_agreed_errors: int = 0  # replayed requests both releases refused with the same status
    replay_note: str = ""

    def summary(self) -> str:
        """One line: what was compared and what happened."""
        verdict = "passed" if self.passed else "BLOCKED"
        text = f"shadow comparison {verdict}: {self.requests} requests"
        if self.replayed:
            golden = self.requests - self.replayed
            text += f" ({golden} golden-set, {self.replayed} recent replayed)"
        text += f", {self.compared} figures, {len(self.breaches)} beyond tolerance"
        if self.allowance is not None:
            text += f" (declared model change allows up to {self.allowance * 100:g} %)"
        if self.failures:
            text += f", {len(self.failures)} failed requests"
        if self.replay_note:
            text += f"; {self.replay_note}"
        return text

    def lines(self, top: int = 10) -> list[str]:
        """The report: summary, failed requests and the largest moves by portfolio/position,
        golden-set cases and replayed recent requests apart."""
        out = [self.summary()]
        out += [f"  failed: {f}" for f in self.failures]
        if not self.replayed:
            if self.largest:
                out.append("  largest moves:")
                out += [f"    {d.describe()}" for d in self.largest[:top]]
            return out
        golden = [d for d in self.largest if not is_recent(d.request)]
        recent = [d for d in self.largest if is_recent(d.request)]
        if golden:
            out.append("  largest moves (golden set):")
            out += [f"    {d.describe()}" for d in golden[:top]]
        beyond = len({d.request for d in self.breaches if is_recent(d.request)})
        line = f"  recent requests: {self.replayed} replayed, {beyond} beyond tolerance"
        if self.replay_agreed_errors:
            line += f", {self.replay_agreed_errors} refused alike by both releases"
        out.append(line)
        if recent:
            out.append("  largest moves (recent requests):")
            out += [f"    {d.describe()}" for d in recent[:top]]
        return out


#: Headline figures of /v1/portfolio/var and /v1/var, listed before allocations.
_HEADLINES = frozenset(PORTFOLIO_VAR.response_fields + VAR.response_fields)


def _rank(d: Difference) -> tuple[int, float]:
    """Headline figures first, then by size of relative move."""
    return (0 if d.field in _HEADLINES else 1, -min(d.relative, 1e300))


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

    largest = tuple(sorted(breaches or moved, key=_rank))
    return ShadowReport(
        passed=not breaches and not failures,
        compared=compared,
        requests=len(set(old) | set(new)),
        breaches=tuple(breaches),
        failures=tuple(failures),
        allowance=allowance,
        largest=largest,
    )


def _by_number(labels: Iterable[str]) -> list[str]:
    """recent-2 before recent-10."""

    def key(label: str) -> tuple[int, str]:
        found = _RECENT.match(label)
        return (int(found.group(1)) if found else 0, label)

    return sorted(labels, key=key)


def compare_replay(
    report: ShadowReport,
    old: Mapping[str, Answer],
    new: Mapping[str, Answer],
    tolerance: Tolerance,
    *,
    requests: Mapping[str, str] | None = None,
    note: str = "",
) -> ShadowReport:
    """``report`` (the golden set's) extended with replayed recent requests.

    ``old``/``new`` are the stable and the new release's answers by label (``recent-<n>``);
    ``requests`` names each (``POST /v1/var``) for the report. Both answered 2xx: every figure is
    compared with the golden set's tolerance and allowance. One answered 2xx and the other not,
    or they failed differently: a difference that blocks. Both refused with the same status: the
    releases agree, counted but not compared. ``note`` says why fewer (or none) were replayed.
    """
    labels = _by_number(set(old) | set(new))
    if not labels:
        return dataclasses.replace(report, replay_note=note)
    names = requests or {}
    ok_old: dict[str, Mapping[str, Any] | None] = {}
    ok_new: dict[str, Mapping[str, Any] | None] = {}
    failures: list[str] = []
    agreed = 0
    for label in labels:
        a, b = old.get(label, Answer(0)), new.get(label, Answer(0))
        if a.ok and b.ok:
            ok_old[label], ok_new[label] = a.body, b.body
        elif not a.ok and not b.ok and a.status == b.status and a.status != 0:
            agreed += 1
        else:
            what = f" ({names[label]})" if label in names else ""
            failures.append(
                f"{label}{what}: stable release {a.describe()}, new release {b.describe()}"
            )
    replay = compare_responses(ok_old, ok_new, tolerance, allowance=report.allowance)
    breaches = report.breaches + replay.breaches
    largest = tuple(sorted(breaches or report.largest + replay.largest, key=_rank))
    return dataclasses.replace(
        report,
        passed=report.passed and replay.passed and not failures,
        compared=report.compared + replay.compared,
        requests=report.requests + len(labels),
        breaches=breaches,
        failures=report.failures + tuple(failures),
        largest=largest,
        replayed=len(labels),
        replay_agreed_errors=agreed,
        replay_note=note,
    )


__all__ = [
    "RECENT_PREFIX",
    "Answer",
    "Difference",
    "ShadowReport",
    "Tolerance",
    "compare_replay",
    "compare_responses",
    "is_recent",
]
