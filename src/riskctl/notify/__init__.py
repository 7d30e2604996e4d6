"""Notifications: Slack incoming webhooks and generic webhooks.

Sending never blocks a rollback: :class:`~riskctl.notify.dispatch.Dispatcher` sends from a
background thread, retries with backoff, and reports every attempt's outcome to a recorder
(the audit trail). Webhook URLs are secrets: read from environment variables, never logged.
"""

from riskctl.notify.dispatch import Delivery, Dispatcher
from riskctl.notify.interface import Event, Notification, Notifier, NotifyError
from riskctl.notify.slack import SlackWebhook
from riskctl.notify.webhook import GenericWebhook

__all__ = [
    "Delivery",
    "Dispatcher",
    "Event",
    "GenericWebhook",
    "Notification",
    "Notifier",
    "NotifyError",
    "SlackWebhook",
]
