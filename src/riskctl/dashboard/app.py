"""The dashboard's web app: one HTML page and read-only JSON endpoints over riskctl's state.

Each request opens its own :class:`~riskctl.service.Session` through the injected opener, reads,
and closes it; nothing is recorded (the sessions' deploy target only looks, see
:mod:`riskctl.dashboard.readonly`). Errors are JSON ``{"error": …}`` with a status code, never a
traceback. Every response carries a strict Content-Security-Policy: the page's script and styles
are separate files from this package, and the page builds its DOM with ``textContent`` only, so
whatever the audit trail holds is shown as text.

Endpoints (all ``GET``)::

    /                      the page            /api/status          environments, rollouts
    /static/NAME           its script, styles  /api/history         releases and events (?limit)
    /api/config            environment names   /api/dora            ?env=prod&days=30, + chart data
    /api/incidents         ?limit              /api/audit/verify    verification, first bad entry
    /api/risk-runs         ?limit              /api/audit/entries   the trail's tail (?limit)
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskctl.dashboard.views import audit_tail, dora_series, risk_runs, verification
from riskctl.dora import dora_report
from riskctl.errors import RiskctlError
from riskctl.service import Session

__all__ = ["LOOPBACK_HOSTS", "SECURITY_HEADERS", "SessionOpener", "create_app"]

log = logging.getLogger(__name__)

#: Opens a fresh riskctl session (the caller closes it).
SessionOpener = Callable[[], Session]

#: Host header values accepted by default: a page on another origin that rebinds its DNS name to
#: 127.0.0.1 (DNS rebinding) still sends its own name, and is refused.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

#: The page's files (package data in ``static/``) and their media types; nothing else is served.
STATIC_FILES: Mapping[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}

MAX_LIMIT = 1000
DEFAULT_REFRESH_S = 5

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many, newest first.")]


class _RequestError(Exception):
    """A request the app answers with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity (the page's JSON.parse would fail): they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(_finite(payload), default=str, ensure_ascii=False, allow_nan=False)
    return Response(body, status_code=status, media_type="application/json")


def _error(status: int, message: str, **extra: Any) -> Response:
    return _json({"error": message, **extra}, status)


def _host_name(host: str) -> str:
    """``127.0.0.1:8400`` → ``127.0.0.1``; ``[::1]:8400`` → ``::1``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class _Guard:
    """ASGI middleware: refuse unexpected Host headers; add the security headers everywhere."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] | None) -> None:
        self.app = app
        self.allowed = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        if self.allowed is not None:
            host = _host_name(Headers(scope=scope).get("host", "")).lower()
            if host not in self.allowed:
                refused = _error(400, f"host {host!r} is not served here")
                await refused(scope, receive, secured)
                return
        await self.app(scope, receive, secured)


def _static() -> dict[str, bytes]:
    folder = resources.files("riskctl.dashboard") / "static"
    return {name: (folder / name).read_bytes() for name in STATIC_FILES}


def create_app(
    open_session: SessionOpener,
    *,
    allowed_hosts: Sequence[str] | None = LOOPBACK_HOSTS,
    refresh_seconds: int = DEFAULT_REFRESH_S,
) -> FastAPI:
    """The dashboard app. ``open_session`` is called once per API request; ``allowed_hosts``
    (hostnames, no ports) are the Host headers served, None for any; the page reloads its data
    every ``refresh_seconds``."""
    files = _static()
    app = FastAPI(
        title="riskctl dashboard",
        docs_url=None,  # the interactive docs load scripts from a CDN: not offline, not our CSP
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.add_middleware(_Guard, allowed_hosts=allowed_hosts)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {
                "parameter": ".".join(str(p) for p in e.get("loc", ()) if p != "query"),
                "message": str(e.get("msg", "")),
            }
            for e in exc.errors()
        ]
        text = "; ".join(f"{p['parameter']}: {p['message']}" for p in problems)
        return _error(422, text or "invalid request", problems=problems)

    def use(read: Callable[[Session], Any]) -> Response:
        """Open a session, read, close it; every failure becomes a JSON error."""
        session: Session | None = None
        try:
            session = open_session()
            # Reads only: a trail that does not verify is still shown, marked TAMPERED by the
            # verification panel (decisions elsewhere refuse it; issue 8, finding 5).
            session.audit.display_only = True
            return _json(read(session))
        except _RequestError as exc:
            return _error(exc.status, exc.message)
        except RiskctlError as exc:
            return _error(500, str(exc) or type(exc).__name__, kind=type(exc).__name__)
        except OSError as exc:
            return _error(500, f"cannot read riskctl's state: {exc}", kind="OSError")
        except Exception as exc:
            # Anything else is a bug: the log gets the traceback, the client a clean error.
            log.exception("dashboard request failed")
            return _error(500, f"internal error ({type(exc).__name__})", kind="internal")
        finally:
            if session is not None:
                try:
                    session.close()
                except Exception:  # a broken store must not turn an answer into a 500
                    log.warning("closing the session failed", exc_info=True)

    def asset(name: str) -> Response:
        return Response(files[name], media_type=STATIC_FILES[name])

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return asset("index.html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in files or name == "index.html":
            raise StarletteHTTPException(404, f"no such file: {name}")
        return asset(name)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return asset("favicon.svg")

    @app.get("/api/config")
    def config() -> Response:
        """Environment names (policy order), the policy digest and the refresh interval."""

        def read(s: Session) -> Any:
            return {
                "environments": list(s.config.environments),
                "policy_digest": s.loaded.digest,
                "refresh_seconds": refresh_seconds,
                "read_only": True,
            }

        return use(read)

    @app.get("/api/status")
    def status() -> Response:
        """What runs where: releases, phase, weights, rollout, analysis, shadow (as observed)."""

        def read(s: Session) -> Any:
            return {**s.status(), "generated_at": s.clock.now().isoformat()}

        return use(read)

    @app.get("/api/history")
    def history(limit: LimitQuery = 50) -> Response:
        """The latest ``limit`` releases and pipeline events (releases newest first)."""

        def read(s: Session) -> Any:
            out = s.history(limit)
            releases = out["releases"]
            return {
                "releases_total": len(releases),
                "releases": list(reversed(releases[-limit:])),
                "events": list(reversed(out["events"])),
            }

        return use(read)

    @app.get("/api/dora")
    def dora(
        env: Annotated[str, Query(min_length=1, max_length=64)] = "prod",
        days: Annotated[float, Query(ge=1, le=3660, description="Window, days up to now.")] = 30.0,
    ) -> Response:
        """``riskctl dora``'s figures and definitions, plus deploys per day and lead times."""

        def read(s: Session) -> Any:
            known = list(s.config.environments)
            if env not in known:
                raise _RequestError(404, f"unknown environment {env!r} (known: {', '.join(known)})")
            report = dora_report(s.audit.bodies(), env, until=s.clock.now(), days=days)
            return {**report.as_dict(), "series": dora_series(report)}

        return use(read)

    @app.get("/api/incidents")
    def incidents(limit: LimitQuery = 50) -> Response:
        """The latest ``limit`` incidents, newest first, and how many are open."""

        def read(s: Session) -> Any:
            found = s.incidents()
            return {
                "total": len(found),
                "open": sum(1 for i in found if i["status"] == "open"),
                "incidents": list(reversed(found[-limit:])),
            }

        return use(read)

    @app.get("/api/audit/verify")
    def audit_verify() -> Response:
        """``riskctl audit verify``: ok, entries, checkpoints, root, first bad entry, problems."""
        return use(lambda s: {**verification(s.verify()), "checked_at": _utc_now()})

    @app.get("/api/audit/entries")
    def audit_entries(limit: LimitQuery = 50) -> Response:
        """The last ``limit`` audit entries, newest first (details summarised, as text)."""
        return use(lambda s: audit_tail(s.audit.bodies(), limit))

    @app.get("/api/risk-runs")
    def latest_risk_runs(limit: LimitQuery = 20) -> Response:
        """The latest ``limit`` risk-run entries: attempts, fallbacks, failures."""
        return use(lambda s: risk_runs(s.audit.bodies(), limit))

    return app


def _utc_now() -> str:
    return datetime.now(UTC).isoformat()
