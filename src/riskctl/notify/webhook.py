"""Generic JSON webhooks, optionally signed with HMAC-SHA256 (``X-Riskctl-Signature``)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from riskctl.notify._http import post_json
from riskctl.notify.interface import Notification


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """A stable JSON document describing the notification."""
    n = notification
    return {
        "event": n.event.value,
        "alert": n.alert,
        "environment": n.env,
        "release": n.release,
        "summary": n.summary,
        "details": dict(n.details),
    }


def signature(secret: bytes, body: bytes) -> str:
    """``sha256=<hex>`` of the body, keyed with the shared secret."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class GenericWebhook:
    """Any HTTP endpoint that accepts a JSON POST."""

    def __init__(
        self, url: str, *, secret: str | None = None, name: str = "webhook", timeout: float = 5.0
    ) -> None:
        self.url = url
        self.name = name
        self.timeout = timeout
        self._secret = secret.encode() if secret else None

    def __repr__(self) -> str:
        return f"GenericWebhook(name={self.name!r})"  # never the URL or the secret

    def send(self, notification: Notification) -> None:
        """POST the payload, signed when a secret is configured."""
        payload = webhook_payload(notification)
        headers = {}
        if self._secret is not None:
            body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
            headers["X-Riskctl-Signature"] = signature(self._secret, body)
            payload = json.loads(body)
        post_json(self.url, payload, timeout=self.timeout, headers=headers)


__all__ = ["GenericWebhook", "signature", "webhook_payload"]
