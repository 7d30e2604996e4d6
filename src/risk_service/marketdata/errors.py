"""Errors of the market-data boundary.

::

    DataError
    ├── DeliveryError        a delivered file is malformed (schema, duplicates, gaps, stale)
    └── MissingDataError     the store lacks data the run needs
"""

from __future__ import annotations


class DataError(ValueError):
    """Positions or market data are unusable."""


class DeliveryError(DataError):
    """A delivered file failed validation; nothing of it was stored."""


class MissingDataError(DataError):
    """The store lacks the positions or market data a business date needs."""
