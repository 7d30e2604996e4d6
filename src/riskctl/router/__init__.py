"""Traffic routing: the front door of each environment and how weight moves between releases.

Interface in :mod:`riskctl.router.interface`; implementation on this host in
:mod:`riskctl.router.haproxy` (HAProxy's runtime API: weights, drain, addresses — no reloads).
"""

from riskctl.router.interface import Router, RouterError, ServerState, ServerStats

__all__ = ["Router", "RouterError", "ServerState", "ServerStats"]
