"""Fan-out with retries in the background, every outcome reported to a recorder."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from riskctl.notify.interface import Notification, Notifier, NotifyError


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of sending one notification to one channel."""

    channel: str
    event: str
    delivered: bool
    attempts: int
    error: str | None = None


Recorder = Callable[[Delivery], None]


class Dispatcher:
    """Sends each notification to every channel on a background thread.

    ``notify`` returns at once, so a rollback never waits for Slack. ``flush`` waits (bounded)
    for pending sends at the end of a command and hands each outcome to the recorder on the
    calling thread (audit stores need not be thread-safe).
    """

    def __init__(
        self,
        channels: Sequence[Notifier],
        *,
        record: Recorder | None = None,
        attempts: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.channels = list(channels)
        self.record = record
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self._recorded = 0

    def notify(self, notification: Notification) -> None:
        """Queue ``notification`` for every channel; never raises, never blocks."""
        for channel in self.channels:
            thread = threading.Thread(
                target=self._send,
                args=(channel, notification),
                daemon=True,
                name=f"notify-{channel.name}",
            )
            thread.start()
            self._threads.append(thread)

    def _send(self, channel: Notifier, notification: Notification) -> None:
        error: str | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                channel.send(notification)
            except NotifyError as exc:
                error = str(exc)
                if attempt < self.attempts:
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            self._done(Delivery(channel.name, notification.event.value, True, attempt))
            return
        self._done(Delivery(channel.name, notification.event.value, False, self.attempts, error))

    def _done(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)

    def flush(self, timeout: float = 10.0) -> list[Delivery]:
        """Wait up to ``timeout`` seconds in all for pending sends; return the outcomes so far."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        with self._lock:
            done = list(self.deliveries)
        if self.record is not None:
            for delivery in done[self._recorded :]:
                self.record(delivery)
        self._recorded = len(done)
        return done


__all__ = ["Delivery", "Dispatcher"]
