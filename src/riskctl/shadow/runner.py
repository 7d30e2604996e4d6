"""Replay the golden set to two instances addressed directly (neither through the front door)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from riskctl.shadow.compare import ShadowReport, Tolerance, compare_responses
from riskctl.shadow.golden import GoldenSet

__all__ = ["PATH", "run_shadow"]

#: The endpoint every golden request goes to (SPEC §3).
PATH = "/v1/portfolio/var"


def _answers(
    client: httpx.Client, base: str, requests: list[tuple[str, dict[str, Any]]]
) -> dict[str, Mapping[str, Any] | None]:
    out: dict[str, Mapping[str, Any] | None] = {}
    for label, body in requests:
        try:
            response = client.post(base + PATH, json=body)
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            data = None
        out[label] = data if isinstance(data, dict) else None
    return out


def run_shadow(
    golden: GoldenSet,
    stable_url: str,
    new_url: str,
    tolerance: Tolerance,
    *,
    allowance: float | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> ShadowReport:
    """Send every golden request to both, compare every figure (``allowance``: approved impact)."""
    requests = golden.requests()
    with httpx.Client(timeout=timeout, headers=dict(headers or {})) as client:
        old = _answers(client, stable_url, requests)
        new = _answers(client, new_url, requests)
    return compare_responses(old, new, tolerance, allowance=allowance)
