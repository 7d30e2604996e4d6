"""Build the configured channels from the policy file and the process environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from riskctl.config import Channel, Notifications
from riskctl.notify.dispatch import Delivery, Dispatcher
from riskctl.notify.interface import Notification, Notifier
from riskctl.notify.slack import SlackWebhook
from riskctl.notify.webhook import GenericWebhook


class _Filtered:
    """A channel that only passes the events it was configured for."""

    def __init__(self, inner: Notifier, events: frozenset[str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.events = events

    def send(self, notification: Notification) -> None:
        if not self.events or notification.event.value in self.events:
            self.inner.send(notification)


def build_channels(specs: Sequence[Channel], environ: Mapping[str, str]) -> list[Notifier]:
    """Channels whose URL variable is set; unset ones are skipped (nothing to send to)."""
    out: list[Notifier] = []
    for i, spec in enumerate(specs):
        url = environ.get(spec.url_env)
        if not url:
            continue
        name = f"{spec.kind}-{i + 1}"
        inner: Notifier
        if spec.kind == "slack":
            inner = SlackWebhook(url, name=name)
        else:
            secret = environ.get(spec.secret_env) if spec.secret_env else None
            inner = GenericWebhook(url, secret=secret, name=name)
        out.append(_Filtered(inner, frozenset(spec.events)))
    return out


def send(
    spec: Notifications,
    environ: Mapping[str, str],
    notification: Notification,
    record: Callable[[Delivery], None],
    *,
    wait: float = 10.0,
) -> list[Delivery]:
    """Send to every configured channel (background, retried), wait at most ``wait`` seconds,
    and hand each outcome to ``record``. Nothing configured: nothing sent."""
    channels = build_channels(spec.channels, environ)
    if not channels:
        return []
    dispatcher = Dispatcher(channels, record=record, attempts=spec.attempts)
    dispatcher.notify(notification)
    return dispatcher.flush(wait)


__all__ = ["build_channels", "send"]
