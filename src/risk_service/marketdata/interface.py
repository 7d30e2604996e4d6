"""The data-source boundary of the daily run.

Every environment's run reads positions and returns from the store; a source's job is to make sure
the store holds them for the business date (dev generates them, staging and prod check that the
upstream delivery arrived).
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker


class DataSource(Protocol):
    """Provides one business date's positions and its scenario window of returns."""

    name: str

    def ensure(self, factory: sessionmaker[Session], business_date: dt.date, window: int) -> None:
        """Make the store hold positions of ``business_date`` and ``window`` prior returns.

        Raises :class:`risk_service.marketdata.errors.MissingDataError` when it cannot.
        """
        ...
