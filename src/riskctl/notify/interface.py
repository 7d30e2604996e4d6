"""The notifier boundary.

::

    NotifyError      a channel could not deliver (unreachable, non-2xx)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class NotifyError(RuntimeError):
    """A channel could not deliver a notification."""


class Event(enum.StrEnum):
    """What people are told about (SPEC §4, Notifications)."""

    DEPLOY_STARTED = "deploy_started"
    DEPLOY_SUCCEEDED = "deploy_succeeded"
    DEPLOY_FAILED = "deploy_failed"
    ROLLED_BACK = "rolled_back"
    APPROVAL_NEEDED = "approval_needed"
    ANALYSIS_INCONCLUSIVE = "analysis_inconclusive"
    RISK_RUN_LATE = "risk_run_late"
    RISK_RUN_FAILED = "risk_run_failed"
    RISK_RUN_FALLBACK = "risk_run_fallback"


#: Events that mean something went wrong.
ALERTS = frozenset(
    {
        Event.DEPLOY_FAILED,
        Event.ROLLED_BACK,
        Event.RISK_RUN_LATE,
        Event.RISK_RUN_FAILED,
        Event.RISK_RUN_FALLBACK,
    }
)


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing to tell people."""

    event: Event
    env: str
    summary: str
    release: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def alert(self) -> bool:
        """Whether this reports a failure."""
        return self.event in ALERTS

    def text(self) -> str:
        """Plain-text form (Slack's fallback, logs)."""
        icon = "ALERT" if self.alert else "info"
        release = f" {self.release}" if self.release else ""
        return (
            f"[{icon}] {self.env}{release}: {self.event.value.replace('_', ' ')} - {self.summary}"
        )


class Notifier(Protocol):
    """A channel: Slack, a generic webhook…"""

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver, or raise :class:`NotifyError`."""


__all__ = ["ALERTS", "Event", "Notification", "Notifier", "NotifyError"]
