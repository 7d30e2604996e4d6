"""The risk service's HTTP surface as riskctl uses it: paths, token, headers (one place).

riskctl treats a release's service as a black box run from its own wheel, so it never imports
``risk_service``; instead every path, method, header and JSON field it relies on is named here
once, and ``tests/riskctl/test_riskclient_contract.py`` checks each against the OpenAPI document
the service itself publishes. The smoke tests and checks (:mod:`riskctl.rollout`), the shadow
comparison (:mod:`riskctl.shadow.runner`), the analysis load (:mod:`riskctl.analysis.load`) and
the performance gate (:mod:`riskctl.gates.performance`) address the service through these names.

Instances are addressed on the loopback only (:func:`instance_url`): riskctl starts them there,
and the front door (HAProxy) is the only way in from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "API_PREFIX",
    "AUTHORIZATION",
    "ENDPOINTS",
    "HEALTHZ",
    "LOAD_HEADERS",
    "METRICS",
    "PORTFOLIO_VAR",
    "READYZ",
    "REPLAYABLE",
    "REQUEST_SAMPLES",
    "SHADOW_HEADERS",
    "VAR",
    "VERSION",
    "Endpoint",
    "bearer",
    "instance_url",
    "url",
]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One operation riskctl calls, and the parts of it riskctl relies on.

    ``request_fields``: JSON body fields riskctl sends; ``response_fields``: fields it reads from
    a success answer (``samples[].path``: ``path`` of each item of the ``samples`` array);
    ``query``: query parameters it passes. ``authenticated``: needs the bearer token.
    """

    method: str
    path: str
    authenticated: bool = False
    request_fields: tuple[str, ...] = ()
    response_fields: tuple[str, ...] = ()
    query: tuple[str, ...] = ()

    def describe(self) -> str:
        """``POST /v1/portfolio/var``."""
        return f"{self.method} {self.path}"


#: Liveness: the process answers (the performance gate waits on it; default smoke path).
HEALTHZ = Endpoint("GET", "/healthz", response_fields=("status",))
#: Readiness: store, schema and market data (HAProxy's health check; default ready path).
READYZ = Endpoint("GET", "/readyz", response_fields=("status",))
#: What runs: the smoke test compares ``artifact_digest`` with the audited digest.
VERSION = Endpoint("GET", "/version", response_fields=("version", "artifact_digest"))
#: Prometheus text, scraped per instance by the canary analysis.
METRICS = Endpoint("GET", "/metrics")
#: VaR and ES of one P&L series (a sampled request may be replayed to it).
VAR = Endpoint(
    "POST",
    "/v1/var",
    authenticated=True,
    request_fields=("returns", "confidence", "method"),
    response_fields=("var", "es"),
)
#: VaR, ES and allocations of a book: the golden set, the load, the performance budget.
PORTFOLIO_VAR = Endpoint(
    "POST",
    "/v1/portfolio/var",
    authenticated=True,
    request_fields=("positions", "returns", "confidence", "method"),
    response_fields=("portfolio_var", "expected_shortfall"),
)
#: Recent real requests the stable release sampled, newest first (admin scope).
REQUEST_SAMPLES = Endpoint(
    "GET",
    "/v1/admin/request-samples",
    authenticated=True,
    response_fields=("samples", "samples[].method", "samples[].path", "samples[].body"),
    query=("limit",),
)
#: Every operation riskctl calls (the contract test's list).
ENDPOINTS: tuple[Endpoint, ...] = (
    HEALTHZ,
    READYZ,
    VERSION,
    METRICS,
    VAR,
    PORTFOLIO_VAR,
    REQUEST_SAMPLES,
)
#: The endpoints a sampled request may be replayed to (never anything else).
REPLAYABLE = frozenset({VAR.path, PORTFOLIO_VAR.path})
#: The versioned API's routes start with this (the metrics' ``route`` label says so too).
API_PREFIX = "/v1/"

#: The header carrying the bearer token of the versioned API (SPEC §3).
AUTHORIZATION = "Authorization"
#: Marks shadow traffic (golden set and replay), so the service does not sample it as real.
SHADOW_HEADERS: Mapping[str, str] = {"X-Riskctl-Shadow": "1"}
#: Marks synthetic analysis load, so the service does not sample it as real.
LOAD_HEADERS: Mapping[str, str] = {"X-Riskctl-Load": "1"}


def bearer(token: str) -> dict[str, str]:
    """The headers that present ``token`` to the versioned API."""
    return {AUTHORIZATION: f"Bearer {token}"}


def instance_url(port: int) -> str:
    """The base URL of an instance riskctl runs on this host."""
    return f"http://127.0.0.1:{port}"


def url(base: str, endpoint: Endpoint) -> str:
    """``endpoint``'s URL under ``base`` (an instance's or the front door's)."""
    return base.rstrip("/") + endpoint.path
