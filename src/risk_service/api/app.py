"""The FastAPI application: routes only build inputs, call the engine or the store, and answer."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import threading
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, Header, Path, Query
from fastapi.responses import JSONResponse, Response
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from risk_service import engine
from risk_service.api import errors, metrics
from risk_service.api.errors import ApiError
from risk_service.api.market import Loaded, MarketCache
from risk_service.api.middleware import RequestMiddleware
from risk_service.api.sampling import RequestSampler
from risk_service.api.schemas import (
    ErrorBody,
    Health,
    PortfolioResult,
    PortfolioVarRequest,
    PortfolioVarResponse,
    Readiness,
    Release,
    RunResponse,
    SampledRequest,
    SampledRequests,
    VarMethod,
    VarRequest,
    VarResponse,
    VersionInfo,
)
from risk_service.auth import Scope, hash_token, parse_scope
from risk_service.config import Settings
from risk_service.logs import configure as configure_logs
from risk_service.logs import get_logger
from risk_service.store import database, repository

log = get_logger("risk_service.api")

# A tiny book computed once per worker at start-up, so the engine's first real request is warm.
_WARM_BOOK = np.array([1.0, -0.5])
_WARM_RETURNS = np.random.default_rng(0).normal(0.0, 0.01, (250, 2))

# Historical calculations up to this many cells (positions x observations; ~1 ms of engine time)
# run on the worker's event loop: a hop to the thread pool costs more than they do, and the GIL
# gives a pure-CPU hop no parallelism anyway. Bigger ones, the other methods (a covariance matrix
# grows with positions squared, Monte Carlo with its draws) and any that must read the store first
# run in the pool, so they never hold up the loop (health checks, other requests).
INLINE_MAX_CELLS = 250_000

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text_}
    for status, text_ in {
        400: "malformed request",
        401: "missing or unknown token (staging, prod)",
        403: "token scope does not allow this endpoint",
        413: "request too large",
        415: "body is not JSON",
        422: "invalid input",
    }.items()
}


class TokenCache:
    """Token hash -> scope, re-checked against the store after ``ttl`` seconds."""

    def __init__(self, factory: sessionmaker[Session], ttl: float = 5.0) -> None:
        self._factory = factory
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Scope | None]] = {}

    def cached(self, token: str) -> Scope | None:
        """The scope of an active token seen within ``ttl`` (no store access); else ``None``."""
        with self._lock:
            hit = self._entries.get(hash_token(token))
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        return None

    def scope(self, token: str) -> Scope | None:
        """Scope of an active token (``None`` if unknown or revoked)."""
        digest = hash_token(token)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(digest)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        with self._factory() as session:
            found = repository.active_token(session, digest)
            scope = parse_scope(found.scope) if found is not None else None
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (now, scope)
        return scope


def _finite(values: Mapping[str, float] | float, field: str) -> None:
    items = values.values() if isinstance(values, Mapping) else [values]
    if not all(math.isfinite(v) for v in items):
        raise ApiError(
            422,
            "non_finite_result",
            "the result is not a finite number: inputs too large in magnitude",
            field,
        )


def _compute(call: Callable[[], engine.PortfolioRisk]) -> tuple[engine.PortfolioRisk, list[str]]:
    """Run an engine call, returning its numerical caveats instead of letting them escape."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", engine.RiskWarning)
        warnings.simplefilter("error", RuntimeWarning)
        try:
            risk = call()
        except (FloatingPointError, RuntimeWarning, OverflowError) as exc:
            raise ApiError(
                422,
                "non_finite_result",
                f"the calculation overflowed: inputs too large in magnitude ({exc})",
                "returns",
            ) from exc
    return risk, [str(w.message) for w in caught if issubclass(w.category, engine.RiskWarning)]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for ``settings`` (read from the environment when omitted)."""
    settings = settings or Settings()
    configure_logs(settings.log_level)
    store = database.make_engine(settings.resolved_database_url())
    factory = database.session_factory(store)
    market = MarketCache(factory, settings.window)
    tokens = TokenCache(factory)
    version = settings.resolved_version()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Each worker warms up before it accepts a connection: the market-data window and the
        # engine's code paths, so the first requests (a canary's first analysis window) are not
        # the slow ones.
        warmed = market.warm()
        _compute(lambda: engine.portfolio_var(_WARM_BOOK, _WARM_RETURNS, 0.99, "historical"))
        log.info("worker warmed", market_window=warmed)
        yield

    app = FastAPI(
        title="risk-service",
        version=version,
        description="Value-at-Risk engine and the daily risk run's results.",
        lifespan=lifespan,
    )
    errors.install(app)
    sampler = RequestSampler(
        factory,
        keep=settings.request_sample_size,
        every=settings.request_sample_every,
        max_bytes=min(settings.request_sample_max_bytes, settings.max_body_bytes),
    )
    app.state.request_sampler = sampler
    app.state.market = market
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes, sampler=sampler)

    def require(needed: Scope) -> Callable[..., Awaitable[None]]:
        async def check(authorization: Annotated[str | None, Header()] = None) -> None:
            if not settings.environment.requires_auth:
                return
            challenge = {"WWW-Authenticate": "Bearer"}
            if not authorization:
                raise ApiError(401, "unauthorized", "missing bearer token", None, challenge)
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(
                    401, "unauthorized", "expected 'Authorization: Bearer <token>'", None, challenge
                )
            try:
                scope = tokens.cached(token.strip())
                if scope is None:  # not seen lately: ask the store, off the event loop
                    scope = await run_in_threadpool(tokens.scope, token.strip())
            except SQLAlchemyError as exc:
                raise ApiError(503, "unavailable", "token store unavailable") from exc
            if scope is None:
                raise ApiError(401, "unauthorized", "unknown or revoked token", None, challenge)
            if not scope.allows(needed):
                raise ApiError(
                    403, "forbidden", f"this token's scope {scope.value!r} does not allow this"
                )

        return check

    @app.get("/healthz", response_model=Health, tags=["operations"])
    async def healthz() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Readiness,
        tags=["operations"],
        responses={503: {"model": Readiness, "description": "not ready"}},
    )
    def readyz() -> JSONResponse:
        """Readiness: store reachable, schema at head (or ahead of it: a newer release migrated
        the store during a canary), market data loaded; 503 otherwise."""
        checks = {"store": False, "schema": False, "market_data": False}
        detail: dict[str, str] = {}
        try:
            with store.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["store"] = True
            checks["schema"], detail["schema"] = database.schema_compatible(store)
            if checks["schema"]:
                with factory() as session:
                    count, _first, last = repository.market_data_summary(session)
                checks["market_data"] = count > 0
                detail["market_data"] = (
                    f"{count} business days through {last.isoformat()}"
                    if last is not None
                    else "no market data loaded"
                )
        except SQLAlchemyError as exc:
            detail["store"] = type(exc).__name__
        ready = all(checks.values())
        body = Readiness(status="ready" if ready else "not_ready", checks=checks, detail=detail)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    @app.get("/version", response_model=VersionInfo, tags=["operations"])
    async def version_info() -> VersionInfo:
        """What is running: version, commit, artifact digest and environment."""
        return VersionInfo(
            version=version,
            git_sha=settings.git_sha,
            artifact_digest=settings.artifact_digest,
            environment=settings.environment.value,
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
    )
    async def prometheus() -> Response:
        """Prometheus exposition, aggregated across workers."""
        payload, content_type = metrics.render()
        return Response(payload, media_type=content_type)

    @app.post(
        "/v1/var",
        response_model=VarResponse,
        tags=["risk"],
        responses=_ERRORS,
        dependencies=[Depends(require(Scope.COMPUTE))],
    )
    async def var(request: VarRequest) -> VarResponse:
        """VaR and ES (same confidence) of one P&L series; losses are positive."""
        if request.method is VarMethod.HISTORICAL and len(request.returns) <= INLINE_MAX_CELLS:
            return var_sync(request)
        return await run_in_threadpool(var_sync, request)

    def var_sync(request: VarRequest) -> VarResponse:
        if len(request.returns) > settings.max_cells:
            raise ApiError(
                413,
                "payload_too_large",
                f"{len(request.returns)} observations exceed the limit of {settings.max_cells}",
                "returns",
            )
        risk, caveats = _compute(
            lambda: engine.portfolio_var(
                {"series": 1.0},
                {"series": request.returns},
                request.confidence,
                request.method.value,
                seed=request.seed,
            )
        )
        _finite(risk.var, "returns")
        _finite(risk.es, "returns")
        metrics.CALCULATIONS.labels(endpoint="var", method=risk.method).inc()
        return VarResponse(
            var=risk.var,
            es=risk.es,
            confidence=risk.confidence,
            observations=risk.observations,
            method=risk.method,
            convention=risk.convention,
            warnings=caveats,
        )

    @app.post(
        "/v1/portfolio/var",
        response_model=PortfolioVarResponse,
        tags=["risk"],
        responses=_ERRORS,
        dependencies=[Depends(require(Scope.COMPUTE))],
    )
    async def portfolio(request: PortfolioVarRequest) -> PortfolioVarResponse:
        """VaR, ES and allocations of a book over inline returns or stored market data."""
        cached: Loaded | None = None
        if request.returns is not None:
            longest = max((len(v) for v in request.returns.values()), default=0)
            cells, small = len(request.positions) * longest, True
        else:
            rows = request.window or settings.window
            cells = len(request.positions) * rows
            # The latest window in memory, checked lately and long enough: no store access.
            cached = market.cached(rows) if request.as_of is None else None
            small = cached is not None
        if small and request.method is VarMethod.HISTORICAL and cells <= INLINE_MAX_CELLS:
            return portfolio_sync(request, cached)
        return await run_in_threadpool(portfolio_sync, request, None)

    def portfolio_sync(request: PortfolioVarRequest, cached: Loaded | None) -> PortfolioVarResponse:
        symbols = list(request.positions)
        as_of: dt.date | None = None
        returns: Any
        book: NDArray[np.float64] | None = None
        if request.returns is not None:
            if request.as_of is not None or request.window is not None:
                raise ApiError(
                    422,
                    "invalid_input",
                    "as_of and window apply to stored market data only; omit returns to use it",
                    "as_of" if request.as_of is not None else "window",
                )
            longest = max((len(v) for v in request.returns.values()), default=0)
            if longest * max(len(request.returns), len(symbols)) > settings.max_cells:
                raise ApiError(
                    413,
                    "payload_too_large",
                    f"positions x observations exceed the limit of {settings.max_cells}",
                    "returns",
                )
            returns = request.returns
        else:
            if len(symbols) * (request.window or settings.window) > settings.max_cells:
                raise ApiError(
                    413,
                    "payload_too_large",
                    f"positions x window exceed the limit of {settings.max_cells}",
                    "positions",
                )
            try:
                scenarios = market.scenarios(symbols, request.as_of, request.window, cached=cached)
            except SQLAlchemyError as exc:
                raise ApiError(503, "unavailable", "market data store unavailable") from exc
            as_of = scenarios.as_of
            # Arrays in column order are the engine's fast path; keys are mapped back below.
            returns = scenarios.matrix
            book = np.fromiter(request.positions.values(), np.float64, len(symbols))
        risk, caveats = _compute(
            lambda: engine.portfolio_var(
                request.positions if book is None else book,
                returns,
                request.confidence,
                request.method.value,
                horizon_days=request.horizon_days,
                seed=request.seed,
            )
        )
        incremental, standalone = _compute_mappings(risk)
        names = symbols if book is not None else None
        component = _keyed(risk.component, names)
        marginal = _keyed(risk.marginal, names)
        component_es = _keyed(risk.component_es, names)
        incremental = _keyed(incremental, names)
        standalone = _keyed(standalone, names)
        figures: dict[str, Mapping[str, float] | float] = {
            "portfolio_var": risk.var,
            "expected_shortfall": risk.es,
            "component_var": component,
            "marginal_var": marginal,
            "incremental_var": incremental,
            "standalone_var": standalone,
            "component_es": component_es,
        }
        for name, values in figures.items():
            _finite(values, name)
        metrics.CALCULATIONS.labels(endpoint="portfolio", method=risk.method).inc()
        return PortfolioVarResponse(
            portfolio_var=risk.var,
            expected_shortfall=risk.es,
            component_var=component,
            marginal_var=marginal,
            incremental_var=incremental,
            standalone_var=standalone,
            component_es=component_es,
            confidence=risk.confidence,
            gross_notional=risk.gross_notional,
            net_notional=risk.net_notional,
            observations=risk.observations,
            method=risk.method,
            convention=risk.convention,
            horizon_days=risk.horizon_days,
            as_of=as_of,
            version=version,
            warnings=caveats,
        )

    @app.get(
        "/v1/runs/{business_date}",
        response_model=RunResponse,
        tags=["runs"],
        responses={404: {"model": ErrorBody, "description": "no run for that date"}, **_ERRORS},
        dependencies=[Depends(require(Scope.READ))],
    )
    def run(
        business_date: Annotated[
            dt.date, Path(description="Business date, YYYY-MM-DD.", examples=["2026-11-25"])
        ],
    ) -> RunResponse:
        """That business date's run: status, release, per-portfolio results."""
        try:
            with factory() as session:
                found = repository.get_run(session, business_date)
                if found is None:
                    raise ApiError(
                        404,
                        "not_found",
                        f"no risk run for {business_date.isoformat()}",
                        "business_date",
                    )
                results = repository.run_results(session, found.id)
        except SQLAlchemyError as exc:
            raise ApiError(503, "unavailable", "results store unavailable") from exc
        return RunResponse(
            business_date=found.business_date,
            status=found.status,
            environment=found.environment,
            release=Release(
                version=found.release_version,
                digest=found.release_digest,
                git_sha=found.git_sha,
            ),
            started_at=_aware(found.started_at),
            finished_at=_aware(found.finished_at),
            deadline=_aware(found.deadline),
            met_deadline=found.met_deadline,
            window=found.window,
            input_hashes={
                "positions_sha256": found.positions_sha256,
                "market_data_sha256": found.market_data_sha256,
            },
            validation=found.validation,
            executor=found.executor,
            workers=found.workers,
            portfolios=[
                PortfolioResult(
                    portfolio_id=r.portfolio_id,
                    var_95=r.var_95,
                    var_99=r.var_99,
                    es_975=r.es_975,
                    gross_notional=r.gross_notional,
                    net_notional=r.net_notional,
                    component_var_95=r.components.get("95", {}),
                    component_var_99=r.components.get("99", {}),
                    previous_var_99=r.previous_var_99,
                    flagged=r.flagged,
                    flag_reason=r.flag_reason,
                    realised_pnl=r.realised_pnl,
                    exception=r.exception,
                )
                for r in results
            ],
        )

    @app.get(
        "/v1/admin/request-samples",
        response_model=SampledRequests,
        tags=["admin"],
        responses={503: {"model": ErrorBody, "description": "store unavailable"}, **_ERRORS},
        dependencies=[Depends(require(Scope.ADMIN))],
    )
    def request_samples(
        limit: Annotated[
            int, Query(ge=1, le=500, description="How many of the newest samples to return.")
        ] = 50,
    ) -> SampledRequests:
        """Recent real calculation requests, newest first (riskctl replays them in its shadow
        comparison). They hold callers' positions, hence the admin scope."""
        try:
            with factory() as session:
                rows = repository.recent_request_samples(session, limit)
        except SQLAlchemyError as exc:
            raise ApiError(503, "unavailable", "request sample store unavailable") from exc
        return SampledRequests(
            samples=[
                SampledRequest(
                    id=r.id,
                    method=r.method,
                    path=r.path,
                    body=r.body,
                    received_at=_aware(r.received_at),
                    status=r.status,
                )
                for r in rows
            ],
            sample_size=sampler.keep if sampler.enabled else 0,
            sample_every=sampler.every,
        )

    return app


def _compute_mappings(risk: engine.PortfolioRisk) -> tuple[dict[str, float], dict[str, float]]:
    """Incremental and standalone VaR (computed lazily by the engine), caveats suppressed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.RiskWarning)
        return dict(risk.incremental), dict(risk.standalone)


def _keyed(values: Mapping[str, float], symbols: list[str] | None) -> dict[str, float]:
    """Allocation by symbol; array inputs come back keyed by column position ("0", "1", ...)."""
    if symbols is None:
        return dict(values)
    return {symbols[int(k)]: v for k, v in values.items()}


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes for UTC columns; make them explicit."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
