"""The FastAPI application: one :class:`~risk_service.api.context.Context`, the middleware and
error handlers, and the routers of ``ROUTERS``. Routes only build inputs, call the engine or the
store, and answer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import numpy as np
from fastapi import APIRouter, FastAPI

from risk_service import engine
from risk_service.api import admin, errors, frtb, operations, risk, runs
from risk_service.api.context import Context
from risk_service.api.hot_path import HotPath
from risk_service.api.market import MarketCache
from risk_service.api.middleware import RequestMiddleware
from risk_service.api.sampling import RequestSampler
from risk_service.auth import TokenCache
from risk_service.config import Settings
from risk_service.logs import configure as configure_logs
from risk_service.logs import get_logger
from risk_service.store import database

log = get_logger("risk_service.api")

#: Every router of the API, in the order the OpenAPI document lists them: add new ones here.
ROUTERS: tuple[APIRouter, ...] = (
    operations.router,
    risk.router,
    frtb.router,
    runs.router,
    admin.router,
)

# A tiny book computed once per worker at start-up, so the engine's first real request is warm.
_WARM_BOOK = np.array([1.0, -0.5])
_WARM_RETURNS = np.random.default_rng(0).normal(0.0, 0.01, (250, 2))


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for ``settings`` (read from the environment when omitted)."""
    settings = settings or Settings()
    configure_logs(settings.log_level)
    store = database.make_engine(settings.resolved_database_url())
    factory = database.session_factory(store)
    ctx = Context(
        settings=settings,
        version=settings.resolved_version(),
        store=store,
        factory=factory,
        market=MarketCache(factory, settings.window),
        sampler=RequestSampler(
            factory,
            keep=settings.request_sample_size,
            every=settings.request_sample_every,
            max_bytes=min(settings.request_sample_max_bytes, settings.max_body_bytes),
        ),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Each worker warms up before it accepts a connection: the market-data window and the
        # engine's code paths, so the first requests (a canary's first analysis window) are not
        # the slow ones.
        warmed = ctx.market.warm()
        risk.compute(lambda: engine.portfolio_var(_WARM_BOOK, _WARM_RETURNS, 0.99, "historical"))
        log.info("worker warmed", market_window=warmed)
        yield
        store.dispose()  # the worker's pooled store connections, closed on shutdown

    app = FastAPI(
        title="risk-service",
        version=ctx.version,
        description="Value-at-Risk engine and the daily risk run's results.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.state.context = ctx
    app.state.tokens = TokenCache(factory, enforce=settings.environment.requires_auth)
    app.state.request_sampler = ctx.sampler
    app.state.market = ctx.market
    app.state.hot_path = True
    # Added first, so it runs inside RequestMiddleware (ids, logs, metrics, body limits, samples)
    app.add_middleware(HotPath, fastapi=app)
    app.add_middleware(
        RequestMiddleware, max_body_bytes=settings.max_body_bytes, sampler=ctx.sampler
    )
    for router in ROUTERS:
        app.include_router(router)
    return app
