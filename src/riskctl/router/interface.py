"""The router boundary: what the rollout controller asks of a traffic router.

::

    RouterError            the router could not be reached or refused a command
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class RouterError(RuntimeError):
    """The router could not be reached or refused a command."""


class ServerState(enum.StrEnum):
    """Administrative state of one backend server."""

    READY = "ready"
    DRAIN = "drain"
    MAINT = "maint"


@dataclass(frozen=True, slots=True)
class ServerStats:
    """One server as the router sees it (HAProxy ``show stat`` fields)."""

    backend: str
    server: str
    status: str  # UP, DOWN, MAINT, DRAIN, no check…
    weight: int
    requests: int  # req_tot: HTTP requests sent to this server
    responses_5xx: int  # hrsp_5xx
    response_errors: int  # eresp
    connection_errors: int  # econ
    response_time_ms: int  # rtime: average over the last 1,024 requests
    check_status: str


class Router(Protocol):
    """Moves traffic between the server slots of an environment's backend."""

    def set_weight(self, backend: str, server: str, weight: int) -> None:
        """Give ``server`` a share of new requests proportional to ``weight`` (0–256)."""

    def set_state(self, backend: str, server: str, state: ServerState) -> None:
        """Put ``server`` in service, draining, or maintenance."""

    def set_address(self, backend: str, server: str, host: str, port: int) -> None:
        """Point a server slot at an instance."""

    def stats(self, backend: str) -> list[ServerStats]:
        """Current per-server statistics of ``backend``."""


__all__ = ["Router", "RouterError", "ServerState", "ServerStats"]
