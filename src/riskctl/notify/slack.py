"""Slack incoming webhooks: a text fallback plus Block Kit blocks."""

from __future__ import annotations

from typing import Any

from riskctl.notify._http import post_json
from riskctl.notify.interface import Notification


def slack_payload(notification: Notification) -> dict[str, Any]:
    """The JSON body Slack's incoming webhooks accept (``text`` is the fallback)."""
    n = notification
    fields = [{"type": "mrkdwn", "text": f"*Environment*\n{n.env}"}]
    if n.release:
        fields.append({"type": "mrkdwn", "text": f"*Release*\n`{n.release}`"})
    fields += [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in n.details.items()]
    title = n.event.value.replace("_", " ").capitalize()
    return {
        "text": n.text(),
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": f"{':rotating_light: ' if n.alert else ''}{title}",
                },
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": n.summary}},
            {"type": "section", "fields": fields[:10]},  # Slack allows at most 10 fields
        ],
    }


class SlackWebhook:
    """A Slack incoming-webhook channel."""

    def __init__(self, url: str, *, name: str = "slack", timeout: float = 5.0) -> None:
        self.url = url
        self.name = name
        self.timeout = timeout

    def send(self, notification: Notification) -> None:
        """POST the Block Kit payload."""
        post_json(self.url, slack_payload(notification), timeout=self.timeout)


__all__ = ["SlackWebhook", "slack_payload"]
