"""Errors of the store boundary.

::

    StoreError
    └── NotFoundError
"""

from __future__ import annotations


class StoreError(Exception):
    """The store is unreachable, not migrated, or refused an operation."""


class NotFoundError(StoreError):
    """The requested record does not exist."""
