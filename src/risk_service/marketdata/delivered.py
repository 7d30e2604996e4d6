"""Staging and prod source: data delivered upstream and loaded with ``risk-service data load``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from risk_service.marketdata.errors import MissingDataError
from risk_service.sessions import nyse
from risk_service.store import repository


class DeliveredSource:
    """Checks that positions and a complete, fresh window of returns were loaded."""

    name = "delivered"

    def ensure(self, factory: sessionmaker[Session], business_date: dt.date, window: int) -> None:
        """Raise :class:`MissingDataError` unless the business date's inputs are in the store."""
        with factory() as session:
            if not repository.has_positions(session, business_date):
                raise MissingDataError(
                    f"no positions delivered for {business_date.isoformat()}; "
                    "load them with `risk-service data load`"
                )
            last_needed = nyse().previous_session(business_date)
            stored = set(repository.market_dates(session, through=last_needed))
        needed = nyse().sessions_before(business_date, window)
        missing = [d for d in needed if d not in stored]
        if missing:
            raise MissingDataError(
                f"market data incomplete for {business_date.isoformat()}: {len(missing)} of the "
                f"{window} sessions before it are missing (latest missing "
                f"{missing[-1].isoformat()}); load them with `risk-service data load`"
            )
