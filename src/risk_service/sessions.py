"""The NYSE trading calendar and the New York clock times of the daily run.

Business dates are NYSE sessions (exchange-calendars ``XNYS``).  The daily run starts at 05:00 and
must finish by 06:00 America/New_York on the session it is for; both are wall-clock times in New
York, so their UTC instants move with daylight-saving time (11:00 UTC deadline in winter, 10:00 UTC
in summer).
"""

from __future__ import annotations

import bisect
import datetime as dt
import warnings
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars

NEW_YORK = ZoneInfo("America/New_York")
RUN_TIME = dt.time(5, 0)
DEADLINE_TIME = dt.time(6, 0)
# Bounds of the calendar this service knows; exchange-calendars needs explicit bounds to be
# deterministic (its default range depends on today's date).
FIRST_DATE = dt.date(1990, 1, 2)
LAST_DATE = dt.date(2050, 12, 30)


class CalendarError(ValueError):
    """A date outside the calendar's range, or not a session where one is required."""


class NyseCalendar:
    """NYSE sessions between :data:`FIRST_DATE` and :data:`LAST_DATE`."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            # exchange-calendars trips pandas deprecation warnings of its own internals; they are
            # not ours to act on and must not abort the service (or the strict test suite).
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            cal = exchange_calendars.get_calendar(
                "XNYS", start=FIRST_DATE.isoformat(), end=LAST_DATE.isoformat()
            )
            self._sessions: list[dt.date] = [ts.date() for ts in cal.sessions]
        self._set = frozenset(self._sessions)

    def _check(self, day: dt.date) -> None:
        if not FIRST_DATE <= day <= LAST_DATE:
            raise CalendarError(
                f"{day.isoformat()} is outside the NYSE calendar known to this service "
                f"({FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()})"
            )

    def is_session(self, day: dt.date) -> bool:
        """Whether ``day`` is an NYSE trading session."""
        self._check(day)
        return day in self._set

    def require_session(self, day: dt.date) -> None:
        """Raise :class:`CalendarError` naming why ``day`` is not a session."""
        if not self.is_session(day):
            kind = "a weekend" if day.weekday() >= 5 else "an NYSE holiday"
            raise CalendarError(
                f"{day.isoformat()} is not an NYSE session ({kind}); there is no risk run that day"
            )

    def previous_session(self, day: dt.date) -> dt.date:
        """The last session strictly before ``day``."""
        self._check(day)
        i = bisect.bisect_left(self._sessions, day)
        if i == 0:
            raise CalendarError(f"no NYSE session before {day.isoformat()} in the calendar")
        return self._sessions[i - 1]

    def next_session(self, day: dt.date) -> dt.date:
        """The first session on or after ``day``."""
        self._check(day)
        i = bisect.bisect_left(self._sessions, day)
        if i == len(self._sessions):  # pragma: no cover - LAST_DATE is a session
            raise CalendarError(f"no NYSE session after {day.isoformat()} in the calendar")
        return self._sessions[i]

    def sessions_before(self, day: dt.date, count: int) -> list[dt.date]:
        """The ``count`` sessions strictly before ``day``, oldest first."""
        self._check(day)
        i = bisect.bisect_left(self._sessions, day)
        if count > i:
            raise CalendarError(
                f"the calendar has only {i} sessions before {day.isoformat()}, {count} needed"
            )
        return self._sessions[i - count : i]

    def sessions_between(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """Sessions from ``first`` to ``last`` inclusive."""
        self._check(first)
        self._check(last)
        lo = bisect.bisect_left(self._sessions, first)
        hi = bisect.bisect_right(self._sessions, last)
        return self._sessions[lo:hi]


@lru_cache(maxsize=1)
def nyse() -> NyseCalendar:
    """The process-wide NYSE calendar (built once; about 0.1 s)."""
    return NyseCalendar()


def new_york_instant(day: dt.date, at: dt.time) -> dt.datetime:
    """``day`` at wall-clock ``at`` in New York, as an aware UTC datetime."""
    return dt.datetime.combine(day, at, tzinfo=NEW_YORK).astimezone(dt.UTC)


def deadline(day: dt.date) -> dt.datetime:
    """The run deadline of business date ``day``: 06:00 America/New_York, in UTC."""
    return new_york_instant(day, DEADLINE_TIME)


def scheduled_start(day: dt.date) -> dt.datetime:
    """When the scheduler starts the run of ``day``: 05:00 America/New_York, in UTC."""
    return new_york_instant(day, RUN_TIME)
