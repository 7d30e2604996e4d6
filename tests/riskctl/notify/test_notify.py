"""Notifications reach real local HTTP endpoints, retry, and never block or leak secrets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from riskctl.notify import (
    Delivery,
    Dispatcher,
    Event,
    GenericWebhook,
    Notification,
    NotifyError,
    SlackWebhook,
)
from riskctl.notify.slack import slack_payload
from riskctl.notify.webhook import signature

ROLLBACK = Notification(
    Event.ROLLED_BACK,
    "prod",
    "canary aborted: error rate 12 % vs 0.1 %",
    release="rel-abc",
    details={"reason": "analysis failed"},
)


class Receiver(ThreadingHTTPServer):
    """A local webhook endpoint that records bodies and fails the first ``fail_first`` calls."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.fail_first = 0
        self.calls = 0
        self.delay = 0.0

    @property
    def url(self) -> str:
        """Where to post, with a secret-looking path."""
        return f"http://127.0.0.1:{self.server_address[1]}/services/T000/B000/secret-token"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.calls += 1
        time.sleep(self.server.delay)
        if self.server.calls <= self.server.fail_first:
            self.send_response(500)
        else:
            self.server.bodies.append((json.loads(body), dict(self.headers)))
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1."""
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_slack_payload_has_fallback_and_blocks() -> None:
    """Slack gets a text fallback and Block Kit blocks naming environment and release."""
    payload = slack_payload(ROLLBACK)
    assert payload["text"].startswith("[ALERT] prod rel-abc: rolled back")
    assert payload["blocks"][0]["type"] == "header"
    fields = json.dumps(payload["blocks"][2]["fields"])
    assert "rel-abc" in fields
    assert "analysis failed" in fields


def test_slack_and_signed_webhook_delivered(receiver: Receiver) -> None:
    """Both channels deliver; the generic webhook carries a verifiable HMAC signature."""
    recorded: list[Delivery] = []
    dispatcher = Dispatcher(
        [SlackWebhook(receiver.url), GenericWebhook(receiver.url, secret="s3cret")],
        record=recorded.append,
    )
    dispatcher.notify(ROLLBACK)
    outcomes = dispatcher.flush(5)
    assert sorted(d.channel for d in outcomes if d.delivered) == ["slack", "webhook"]
    assert len(recorded) == 2
    generic = next(b for b in receiver.bodies if "event" in b[0])
    body, headers = generic
    assert body["event"] == "rolled_back"
    canonical = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    assert headers["X-Riskctl-Signature"] == signature(b"s3cret", canonical)


def test_retries_then_succeeds(receiver: Receiver) -> None:
    """Two 500s then a 200: delivered on the third attempt, and recorded as such."""
    receiver.fail_first = 2
    dispatcher = Dispatcher([GenericWebhook(receiver.url)], backoff=0.01)
    dispatcher.notify(ROLLBACK)
    (delivery,) = dispatcher.flush(5)
    assert delivery.delivered
    assert delivery.attempts == 3


def test_failure_is_recorded_without_the_secret_url(receiver: Receiver) -> None:
    """An endpoint that always fails is recorded as undelivered; its secret path never shows."""
    receiver.fail_first = 100
    recorded: list[Delivery] = []
    dispatcher = Dispatcher([SlackWebhook(receiver.url)], record=recorded.append, backoff=0.01)
    dispatcher.notify(ROLLBACK)
    dispatcher.flush(5)
    (delivery,) = recorded
    assert not delivery.delivered
    assert "500" in (delivery.error or "")
    assert "secret-token" not in (delivery.error or "")
    assert "secret" not in repr(GenericWebhook(receiver.url, secret="s3cret"))


def test_unreachable_endpoint_raises_redacted() -> None:
    """Nothing listening: NotifyError naming only scheme and host."""
    with pytest.raises(NotifyError, match=r"http://127\.0\.0\.1/… unreachable"):
        GenericWebhook("http://127.0.0.1:1/hooks/secret-token", timeout=1).send(ROLLBACK)


def test_notify_never_blocks_the_caller(receiver: Receiver) -> None:
    """A slow endpoint does not delay notify(); flush waits for it, bounded."""
    receiver.delay = 0.5
    dispatcher = Dispatcher([GenericWebhook(receiver.url)])
    start = time.perf_counter()
    dispatcher.notify(ROLLBACK)
    assert time.perf_counter() - start < 0.1
    assert dispatcher.flush(5)[0].delivered
