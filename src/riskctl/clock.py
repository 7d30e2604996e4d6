"""Injectable time and exchange calendar, so policy decisions are pure functions of their inputs."""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

__all__ = [
    "Calendar",
    "Clock",
    "ExchangeCalendar",
    "FixedCalendar",
    "FixedClock",
    "ManualTicker",
    "SystemClock",
    "Ticker",
    "parse_instant",
]


class Clock(Protocol):
    """Source of the current time (timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class Calendar(Protocol):
    """Tells whether a local date is a trading session."""

    def is_session(self, day: date) -> bool: ...


class Ticker(Clock, Protocol):
    """A clock that can also measure intervals and wait (controllers that poll and pause)."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for deadlines)."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait for real."""
        time.sleep(seconds)


@dataclass
class ManualTicker:
    """A clock that only moves when something sleeps on it (fast tests of timed pauses)."""

    instant: datetime
    elapsed: float = 0.0

    def now(self) -> datetime:
        return self.instant

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.instant = datetime.fromtimestamp(self.instant.timestamp() + seconds, UTC)
        self.elapsed += seconds


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at ``instant`` (tests, rehearsals)."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant


@dataclass(frozen=True)
class FixedCalendar:
    """Weekdays are sessions except the listed holidays (tests)."""

    holidays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, holidays: Iterable[date]) -> FixedCalendar:
        return cls(frozenset(holidays))

    def is_session(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays


@functools.lru_cache(maxsize=16)
def _sessions(exchange: str, year: int) -> frozenset[date]:
    import exchange_calendars  # noqa: PLC0415 - slow import, needed only for prod windows

    # exchange_calendars trips pandas deprecation warnings that are not ours to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = exchange_calendars.get_calendar(exchange, start=f"{year}-01-01", end=f"{year}-12-31")
        return frozenset(ts.date() for ts in cal.sessions)


@dataclass(frozen=True)
class ExchangeCalendar:
    """Sessions from ``exchange_calendars`` (offline), loaded one year at a time."""

    exchange: str = "XNYS"

    def is_session(self, day: date) -> bool:
        return day in _sessions(self.exchange, day.year)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with an offset (``Z`` allowed); naive times are rejected."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return value.astimezone(UTC)
