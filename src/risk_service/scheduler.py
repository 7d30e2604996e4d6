"""Triggers the daily run at 05:00 America/New_York on NYSE sessions (APScheduler 3).

The trigger computes wall-clock 05:00 in New York for each session, so the UTC instant follows
daylight-saving time (10:00 UTC in winter, 09:00 UTC in summer) and holidays and weekends are
skipped.  05:00 is outside the 01:00-03:00 window where New York clocks jump.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger

from risk_service.logs import get_logger
from risk_service.sessions import NEW_YORK, RUN_TIME, NyseCalendar, nyse

log = get_logger("risk_service.scheduler")


def next_fire_time(after: dt.datetime, calendar: NyseCalendar | None = None) -> dt.datetime:
    """The first session's 05:00 New York strictly after ``after`` (an aware datetime)."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    cal = calendar or nyse()
    local = after.astimezone(NEW_YORK)
    day = local.date()
    while True:
        day = cal.next_session(day)
        fire = dt.datetime.combine(day, RUN_TIME, tzinfo=NEW_YORK)
        if fire > after:
            return fire
        day += dt.timedelta(days=1)


def fire_times(after: dt.datetime, count: int) -> list[dt.datetime]:
    """The next ``count`` fire times after ``after``."""
    out: list[dt.datetime] = []
    current = after
    for _ in range(count):
        current = next_fire_time(current)
        out.append(current)
    return out


class NyseSessionTrigger(BaseTrigger):  # type: ignore[misc]
    """APScheduler trigger firing at 05:00 New York on every NYSE session."""

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        """The next fire time strictly after the previous one, and not before ``now``."""
        after = now - dt.timedelta(microseconds=1)
        if previous_fire_time is not None and previous_fire_time >= after:
            after = previous_fire_time
        return next_fire_time(after)

    def __str__(self) -> str:
        return "nyse-sessions[05:00 America/New_York]"


def run_forever(job: Callable[[dt.date], None]) -> None:  # pragma: no cover - blocks until killed
    """Block, calling ``job(business_date)`` at each fire time."""
    scheduler = BlockingScheduler(timezone=NEW_YORK)

    def fire() -> None:
        business_date = dt.datetime.now(NEW_YORK).date()
        log.info("daily_run_triggered", business_date=business_date.isoformat())
        try:
            job(business_date)
        except Exception as exc:  # the scheduler must survive one bad morning
            log.error("daily_run_failed", business_date=business_date.isoformat(), error=str(exc))

    scheduler.add_job(
        fire,
        NyseSessionTrigger(),
        id="daily-run",
        misfire_grace_time=3600,
        coalesce=True,
        max_instances=1,
    )
    log.info("scheduler_started", trigger="nyse-sessions 05:00 America/New_York")
    scheduler.start()
