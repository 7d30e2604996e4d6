"""POST JSON to a webhook without ever revealing its URL in errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from riskctl.notify.interface import NotifyError


def redact(url: str) -> str:
    """scheme://host/… — webhook paths carry the secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…"


def post_json(
    url: str, payload: Any, *, timeout: float, headers: Mapping[str, str] | None = None
) -> None:
    """POST ``payload``; raise NotifyError (with a redacted URL) unless the answer is 2xx."""
    try:
        response = httpx.post(url, json=payload, timeout=timeout, headers=dict(headers or {}))
    except httpx.HTTPError as exc:
        raise NotifyError(f"{redact(url)} unreachable: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise NotifyError(f"{redact(url)} answered {response.status_code}")
