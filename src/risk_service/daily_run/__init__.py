"""The daily risk run: one business date's VaR/ES for every portfolio, validated and stored."""

from risk_service.daily_run.run import (
    Release,
    RunError,
    RunOptions,
    RunReport,
    ValidationFailedError,
    daily_run,
)

__all__ = [
    "Release",
    "RunError",
    "RunOptions",
    "RunReport",
    "ValidationFailedError",
    "daily_run",
]
