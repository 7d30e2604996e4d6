"""Asking witnesses to cosign, and asking what they last cosigned (bounded, never raising).

Every call has a timeout and returns a value: a witness that is down or answers badly is an
outcome to report and record, never an exception that could stop a command or a rollback.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from riskctl.audit.note import Cosignature, NoteError, Verifier, parse_cosignature
from riskctl.witness.core import SIZE_TYPE

__all__ = ["CosignOutcome", "add_checkpoint", "latest_checkpoint"]


@dataclass(frozen=True)
class CosignOutcome:
    """A witness's answer: its verified cosignature, or why there is none."""

    witness: str
    cosignature: Cosignature | None
    error: str = ""
    witness_size: int | None = None  # a 409's answer: the size the witness last cosigned


def _post(url: str, body: str, timeout: float) -> httpx.Response:
    return httpx.post(
        url.rstrip("/") + "/add-checkpoint",
        content=body.encode(),
        timeout=timeout,
        follow_redirects=False,
    )


def add_checkpoint(
    url: str,
    witness: Verifier,
    note: str,
    text: str,
    *,
    old: int,
    proof: Sequence[bytes],
    timeout: float,
) -> CosignOutcome:
    """One ``add-checkpoint`` request; the cosignature is verified before it is returned."""
    lines = [f"old {old}", *(base64.b64encode(p).decode() for p in proof), ""]
    body = "\n".join(lines) + "\n" + note
    try:
        response = _post(url, body, timeout)
    except httpx.HTTPError as exc:
        return CosignOutcome(witness.name, None, f"unreachable ({type(exc).__name__})")
    if response.status_code == 409 and response.headers.get("content-type", "").startswith(
        SIZE_TYPE
    ):
        text_size = response.text.strip()
        size = int(text_size) if text_size.isdigit() else None
        return CosignOutcome(witness.name, None, f"witness is at size {text_size}", size)
    if response.status_code != 200:
        reason = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return CosignOutcome(witness.name, None, f"refused ({response.status_code}: {reason})")
    try:
        cosig = parse_cosignature(response.text.strip().splitlines()[0], text, witness)
    except (NoteError, IndexError) as exc:
        return CosignOutcome(witness.name, None, f"bad cosignature: {exc}")
    return CosignOutcome(witness.name, cosig)


def latest_checkpoint(url: str, origin: str, timeout: float) -> tuple[str | None, str]:
    """(the witness's last cosigned note with its cosignature, or None; error text)."""
    try:
        response = httpx.get(
            url.rstrip("/") + "/checkpoint", params={"origin": origin}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        return None, f"unreachable ({type(exc).__name__})"
    if response.status_code == 404:
        return None, "has cosigned nothing for this log"
    if response.status_code != 200:
        return None, f"answered {response.status_code}"
    return response.text, ""
