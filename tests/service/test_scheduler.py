"""Calendar, deadline and scheduler fire times across DST and NYSE holidays."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from risk_service.cli import app
from risk_service.scheduler import NyseSessionTrigger, fire_times, next_fire_time
from risk_service.sessions import NEW_YORK, CalendarError, deadline, nyse, scheduled_start

UTC = dt.UTC


def ny(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    """A New York wall-clock time."""
    return dt.datetime(y, m, d, h, mi, tzinfo=NEW_YORK)


def test_2026_holidays_are_not_sessions() -> None:
    """The ten 2026 NYSE holidays are not sessions; the early-close days are."""
    holidays = ["01-01", "01-19", "02-16", "04-03", "05-25", "06-19", "07-03", "09-07",
                "11-26", "12-25"]  # fmt: skip
    for md in holidays:
        assert not nyse().is_session(dt.date.fromisoformat(f"2026-{md}")), md
    assert nyse().is_session(dt.date(2026, 11, 27))
    assert nyse().is_session(dt.date(2026, 12, 24))


def test_calendar_navigation() -> None:
    """previous/next session skip weekends and holidays; windows are whole sessions."""
    cal = nyse()
    assert cal.previous_session(dt.date(2026, 11, 27)) == dt.date(2026, 11, 25)
    assert cal.next_session(dt.date(2026, 11, 26)) == dt.date(2026, 11, 27)
    assert cal.sessions_before(dt.date(2026, 1, 5), 2) == [dt.date(2025, 12, 31),
                                                          dt.date(2026, 1, 2)]  # fmt: skip
    # 261 weekdays in 2026 minus its 10 weekday holidays.
    assert len(cal.sessions_between(dt.date(2026, 1, 1), dt.date(2026, 12, 31))) == 251


def test_calendar_bounds_are_explicit_errors() -> None:
    """Dates outside the known calendar raise CalendarError with the range."""
    with pytest.raises(CalendarError, match="outside the NYSE calendar"):
        nyse().is_session(dt.date(1980, 1, 2))
    with pytest.raises(CalendarError, match="no NYSE session before"):
        nyse().previous_session(dt.date(1990, 1, 2))
    with pytest.raises(CalendarError, match="outside the NYSE calendar"):
        nyse().next_session(dt.date(2051, 1, 3))
    with pytest.raises(CalendarError, match="only"):
        nyse().sessions_before(dt.date(1990, 1, 10), 100)


@pytest.mark.parametrize(
    ("day", "start_utc", "deadline_utc"),
    [
        (dt.date(2026, 3, 6), 10, 11),  # EST
        (dt.date(2026, 3, 9), 9, 10),  # EDT (DST began Sunday Mar 8)
        (dt.date(2026, 10, 30), 9, 10),  # EDT
        (dt.date(2026, 11, 2), 10, 11),  # EST (DST ended Sunday Nov 1)
    ],
)
def test_run_and_deadline_instants_follow_dst(
    day: dt.date, start_utc: int, deadline_utc: int
) -> None:
    """05:00 and 06:00 New York map to the right UTC hours either side of the DST changes."""
    assert scheduled_start(day) == dt.datetime.combine(day, dt.time(start_utc), tzinfo=UTC)
    assert deadline(day) == dt.datetime.combine(day, dt.time(deadline_utc), tzinfo=UTC)


def test_fire_times_across_spring_dst_change() -> None:
    """From Friday 2026-03-06 the next fires are Fri 10:00 UTC then Mon 09:00 UTC (EDT)."""
    fires = fire_times(ny(2026, 3, 5, 6), 3)
    assert [f.astimezone(UTC) for f in fires] == [
        dt.datetime(2026, 3, 6, 10, tzinfo=UTC),
        dt.datetime(2026, 3, 9, 9, tzinfo=UTC),
        dt.datetime(2026, 3, 10, 9, tzinfo=UTC),
    ]
    assert all(f.astimezone(NEW_YORK).time() == dt.time(5) for f in fires)


def test_fire_times_across_autumn_dst_change() -> None:
    """Around 2026-11-01 the fire moves from 09:00 UTC (EDT) to 10:00 UTC (EST)."""
    fires = fire_times(ny(2026, 10, 30, 4), 2)
    assert [f.astimezone(UTC) for f in fires] == [
        dt.datetime(2026, 10, 30, 9, tzinfo=UTC),
        dt.datetime(2026, 11, 2, 10, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (ny(2026, 11, 25, 5), ny(2026, 11, 27, 5)),  # Thanksgiving skipped
        (ny(2026, 12, 24, 5), ny(2026, 12, 28, 5)),  # Christmas + weekend skipped
        (ny(2026, 7, 2, 12), ny(2026, 7, 6, 5)),  # Independence Day observed Fri Jul 3
        (ny(2026, 4, 2, 5, 1), ny(2026, 4, 6, 5)),  # Good Friday
        (ny(2025, 12, 31, 23), ny(2026, 1, 2, 5)),  # New Year's Day
        (ny(2026, 11, 27, 4, 59), ny(2026, 11, 27, 5)),  # same morning, before 05:00
    ],
)
def test_fire_times_skip_holidays(after: dt.datetime, expected: dt.datetime) -> None:
    """The next fire after a time is 05:00 New York on the next NYSE session."""
    assert next_fire_time(after) == expected


def test_next_fire_time_requires_an_aware_time() -> None:
    """A naive datetime is refused."""
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_time(dt.datetime(2026, 1, 5, 4))


def test_apscheduler_trigger_follows_the_calendar() -> None:
    """The APScheduler trigger fires at 05:00 New York and moves on after each fire."""
    trigger = NyseSessionTrigger()
    first = trigger.get_next_fire_time(None, ny(2026, 11, 25, 4))
    assert first == ny(2026, 11, 25, 5)
    second = trigger.get_next_fire_time(first, ny(2026, 11, 25, 5))
    assert second == ny(2026, 11, 27, 5)
    # A late start (misfire) fires the next eligible time, never one in the past.
    assert trigger.get_next_fire_time(None, ny(2026, 11, 25, 5, 30)) == ny(2026, 11, 27, 5)
    assert "05:00" in str(trigger)


def test_scheduler_command_shows_next_fire_times() -> None:
    """`risk-service scheduler --show 3` prints three 05:00 New York fire times."""
    result = CliRunner().invoke(app, ["scheduler", "--show", "3"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 3
    assert all("T05:00:00-0" in line for line in lines)
