"""Replay the golden set, and a sample of recent real requests, to two instances addressed
directly (neither through the front door).

Recent requests come from the stable instance's ``GET /v1/admin/request-samples`` (SPEC §4,
"where available"): a stable release without that endpoint (an older one, 404), one that refuses
riskctl's token (its scope is below ``admin``), one that cannot list them, or one that has sampled
nothing leaves the comparison to the golden set, with a note saying why. Every request riskctl
sends here carries ``X-Riskctl-Shadow: 1``, so the service never samples the shadow traffic
itself. Replay is bounded: at most ``replay_recent`` requests (≤ :data:`MAX_REPLAY`), only to the
two calculation endpoints, and none started after ``timeout`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from riskctl.config import Shadow
from riskctl.riskclient import PORTFOLIO_VAR, REPLAYABLE, REQUEST_SAMPLES, SHADOW_HEADERS, url
from riskctl.shadow.compare import (
    RECENT_PREFIX,
    Answer,
    ShadowReport,
    Tolerance,
    compare_replay,
    compare_responses,
)
from riskctl.shadow.golden import GoldenSet

__all__ = [
    "MAX_REPLAY",
    "RecentRequest",
    "fetch_recent",
    "run_shadow",
]

#: Where the stable release lists the recent real requests it sampled, newest first.
_SAMPLES = REQUEST_SAMPLES.path
#: The most recent requests one comparison replays (the service lists at most this many).
MAX_REPLAY = 500
_DEFAULT_REPLAY: int = Shadow.model_fields["replay_recent"].default
_NONE = "no recent requests to replay"


@dataclass(frozen=True, slots=True)
class RecentRequest:
    """One sampled request as the stable release received it."""

    method: str
    path: str
    body: Mapping[str, Any]

    def describe(self) -> str:
        """``POST /v1/var``."""
        return f"{self.method} {self.path}"


def _answers(
    client: httpx.Client, base: str, requests: list[tuple[str, dict[str, Any]]]
) -> dict[str, Mapping[str, Any] | None]:
    out: dict[str, Mapping[str, Any] | None] = {}
    for label, body in requests:
        try:
            response = client.post(url(base, PORTFOLIO_VAR), json=body)
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            data = None
        out[label] = data if isinstance(data, dict) else None
    return out


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def fetch_recent(client: httpx.Client, base: str, limit: int) -> tuple[list[RecentRequest], str]:
    """Up to ``limit`` replayable samples from the instance at ``base``, newest first, and a
    note when there is nothing (or less) to replay. Never raises for what the instance says."""
    if limit <= 0:
        return [], f"{_NONE} (replay_recent is 0)"
    try:
        response = client.get(url(base, REQUEST_SAMPLES), params={"limit": min(limit, MAX_REPLAY)})
    except httpx.HTTPError as exc:
        reason = type(exc).__name__
        return [], f"{_NONE} (the stable release did not answer {_SAMPLES}: {reason})"
    status = response.status_code
    if status == 404:
        return [], f"{_NONE} (the stable release has no {_SAMPLES}: an older release)"
    if status in (401, 403):
        return [], (
            f"{_NONE} (the stable release refused {_SAMPLES} with HTTP {status}: "
            "riskctl's token needs the admin scope)"
        )
    data = _json(response)
    samples = data.get("samples") if status == 200 and isinstance(data, dict) else None
    if not isinstance(samples, list):
        return [], f"{_NONE} (the stable release answered {_SAMPLES} with HTTP {status})"
    recent = [
        RecentRequest(str(s["method"]), str(s["path"]), s["body"])
        for s in samples
        if isinstance(s, dict)
        and s.get("method") == "POST"
        and s.get("path") in REPLAYABLE
        and isinstance(s.get("body"), dict)
    ][:limit]
    if not recent:
        if samples:
            return [], f"{_NONE} (none of the {len(samples)} samples is replayable)"
        return [], f"{_NONE} (the stable release has sampled none yet)"
    skipped = min(len(samples), limit) - len(recent)
    return recent, (f"{skipped} sampled requests not replayable, skipped" if skipped > 0 else "")


def _answer(client: httpx.Client, base: str, request: RecentRequest) -> Answer:
    try:
        response = client.request(request.method, base + request.path, json=dict(request.body))
    except httpx.HTTPError:
        return Answer(0)
    data = _json(response)
    return Answer(response.status_code, data if isinstance(data, dict) else None)


def _replay(
    client: httpx.Client,
    stable_url: str,
    new_url: str,
    recent: list[RecentRequest],
    budget: float,
) -> tuple[dict[str, Answer], dict[str, Answer], dict[str, str], str]:
    """Each recent request to both instances; none is started once ``budget`` seconds passed."""
    old: dict[str, Answer] = {}
    new: dict[str, Answer] = {}
    names: dict[str, str] = {}
    deadline = time.monotonic() + budget
    for n, request in enumerate(recent, 1):
        if n > 1 and time.monotonic() >= deadline:
            cut = f"replayed {n - 1} of {len(recent)} recent requests"
            return old, new, names, f"{cut} (time budget of {budget:g} s reached)"
        label = f"{RECENT_PREFIX}{n}"
        names[label] = request.describe()
        old[label] = _answer(client, stable_url, request)
        new[label] = _answer(client, new_url, request)
    return old, new, names, ""


def run_shadow(
    golden: GoldenSet,
    stable_url: str,
    new_url: str,
    tolerance: Tolerance,
    *,
    allowance: float | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    replay_recent: int = _DEFAULT_REPLAY,
) -> ShadowReport:
    """Send every golden request, then up to ``replay_recent`` recent real requests sampled by
    the stable release, to both; compare every figure (``allowance``: approved impact).

    ``timeout`` bounds each request (one not answered in time is no valid answer, as in the golden
    set), and the replay: no recent request is started once ``timeout`` seconds have passed, so
    the replay takes at most about three times ``timeout``.
    """
    requests = golden.requests()
    sent = {**(headers or {}), **SHADOW_HEADERS}
    with httpx.Client(timeout=timeout, headers=sent) as client:
        old = _answers(client, stable_url, requests)
        new = _answers(client, new_url, requests)
        report = compare_responses(old, new, tolerance, allowance=allowance)
        recent, note = fetch_recent(client, stable_url, min(replay_recent, MAX_REPLAY))
        old_recent, new_recent, names, cut = _replay(client, stable_url, new_url, recent, timeout)
    notes = "; ".join(n for n in (note, cut) if n)
    return compare_replay(report, old_recent, new_recent, tolerance, requests=names, note=notes)
