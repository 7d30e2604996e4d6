"""Change windows and the risk-run freeze, evaluated in the calendar's local time (pure)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from riskctl.clock import Calendar
from riskctl.config import WEEKDAYS, Environment, Freeze, Window

__all__ = ["freeze_problem", "in_any_window", "window_problems"]


def in_any_window(local: datetime, windows: tuple[Window, ...]) -> bool:
    """Whether local time ``local`` falls in one of ``windows`` (no windows means always open)."""
    if not windows:
        return True
    day = WEEKDAYS[local.weekday()]
    clock = local.time().replace(tzinfo=None)
    return any(day in w.days and w.start <= clock < w.end for w in windows)


def freeze_problem(local: datetime, freeze: Freeze, calendar: Calendar) -> str | None:
    """Why ``local`` is inside the risk-run freeze, or ``None``."""
    clock = local.time().replace(tzinfo=None)
    if not freeze.start <= clock < freeze.end:
        return None
    if freeze.sessions_only and not calendar.is_session(local.date()):
        return None
    return (
        f"inside the risk-run freeze {freeze.start:%H:%M}-{freeze.end:%H:%M} "
        f"{local.tzname()} on session {local.date().isoformat()}"
    )


def window_problems(
    now: datetime, env: Environment, freeze: Freeze, zone: str, calendar: Calendar
) -> list[str]:
    """Everything wrong with deploying to ``env`` at instant ``now`` (empty when allowed)."""
    local = now.astimezone(ZoneInfo(zone))
    problems: list[str] = []
    if not in_any_window(local, env.windows):
        spans = ", ".join(f"{'/'.join(w.days)} {w.start:%H:%M}-{w.end:%H:%M}" for w in env.windows)
        problems.append(
            f"outside the change window: it is {local:%a %Y-%m-%d %H:%M} {local.tzname()}, "
            f"windows are {spans} {zone}"
        )
    if env.freeze:
        reason = freeze_problem(local, freeze, calendar)
        if reason:
            problems.append(reason)
    return problems
