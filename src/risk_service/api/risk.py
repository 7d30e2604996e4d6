"""``/v1/var`` and ``/v1/portfolio/var``: the engine over inline returns or stored market data.

Historical calculations up to ``INLINE_MAX_CELLS`` cells (positions x observations; ~1 ms of
engine time) run on the worker's event loop: a hop to the thread pool costs more than they do, and
the GIL gives a pure-CPU hop no parallelism anyway. Bigger ones, the other methods (a covariance
matrix grows with positions squared, Monte Carlo with its draws) and any that must read the store
first run in the pool, so they never hold up the loop (health checks, other requests).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends
from numpy.typing import NDArray
from starlette.concurrency import run_in_threadpool

from risk_service import engine
from risk_service.api import metrics
from risk_service.api.context import Context, Ctx
from risk_service.api.errors import ERROR_RESPONSES, ApiError, store_unavailable
from risk_service.api.market import Loaded
from risk_service.api.schemas import (
    PortfolioVarRequest,
    PortfolioVarResponse,
    VarMethod,
    VarRequest,
    VarResponse,
)
from risk_service.auth import Scope, require

INLINE_MAX_CELLS = 250_000

router = APIRouter(
    tags=["risk"], responses=ERROR_RESPONSES, dependencies=[Depends(require(Scope.COMPUTE))]
)


def compute(call: Callable[[], engine.PortfolioRisk]) -> tuple[engine.PortfolioRisk, list[str]]:
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


def _finite(values: Mapping[str, float] | float, field: str) -> None:
    items = values.values() if isinstance(values, Mapping) else [values]
    if not all(map(math.isfinite, items)):
        raise ApiError(
            422,
            "non_finite_result",
            "the result is not a finite number: inputs too large in magnitude",
            field,
        )


@router.post("/v1/var", response_model=VarResponse)
async def var(request: VarRequest, ctx: Ctx) -> VarResponse:
    """VaR and ES (same confidence) of one P&L series; losses are positive."""
    if request.method is VarMethod.HISTORICAL and len(request.returns) <= INLINE_MAX_CELLS:
        return var_sync(request, ctx)
    return await run_in_threadpool(var_sync, request, ctx)


def var_sync(request: VarRequest, ctx: Context) -> VarResponse:
    """``/v1/var``'s answer, computed where the route decided."""
    if len(request.returns) > ctx.settings.max_cells:
        raise ApiError(
            413,
            "payload_too_large",
            f"{len(request.returns)} observations exceed the limit of {ctx.settings.max_cells}",
            "returns",
        )
    risk, caveats = compute(
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


@router.post("/v1/portfolio/var", response_model=PortfolioVarResponse)
async def portfolio(request: PortfolioVarRequest, ctx: Ctx) -> PortfolioVarResponse:
    """VaR, ES and allocations of a book over inline returns or stored market data."""
    cached: Loaded | None = None
    if request.returns is not None:
        longest = max((len(v) for v in request.returns.values()), default=0)
        cells, small = len(request.positions) * longest, True
    else:
        rows = request.window or ctx.settings.window
        cells = len(request.positions) * rows
        # The latest window in memory, checked lately and long enough: no store access.
        cached = ctx.market.cached(rows) if request.as_of is None else None
        small = cached is not None
    if small and request.method is VarMethod.HISTORICAL and cells <= INLINE_MAX_CELLS:
        return portfolio_sync(request, ctx, cached)
    return await run_in_threadpool(portfolio_sync, request, ctx, None)


def portfolio_sync(
    request: PortfolioVarRequest, ctx: Context, cached: Loaded | None
) -> PortfolioVarResponse:
    """``/v1/portfolio/var``'s answer, computed where the route decided."""
    settings = ctx.settings
    symbols = list(request.positions)
    as_of: dt.date | None = None
    returns: Any
    book: NDArray[np.float64] | None = None
    ranks: engine.ColumnRanks | None = None
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
        with store_unavailable("market data store"):
            scenarios = ctx.market.scenarios(symbols, request.as_of, request.window, cached=cached)
        as_of = scenarios.as_of
        # Arrays in column order are the engine's fast path; keys are mapped back below.
        returns = scenarios.matrix
        book = np.fromiter(request.positions.values(), np.float64, len(symbols))
        if request.method is VarMethod.HISTORICAL:
            ranks = ctx.market.ranks(scenarios, request.confidence)
    risk, caveats = compute(
        lambda: engine.portfolio_var(
            request.positions if book is None else book,
            returns,
            request.confidence,
            request.method.value,
            horizon_days=request.horizon_days,
            seed=request.seed,
            ranks=ranks,
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
        version=ctx.version,
        warnings=caveats,
    )


def _compute_mappings(risk: engine.PortfolioRisk) -> tuple[dict[str, float], dict[str, float]]:
    """Incremental and standalone VaR (computed lazily by the engine), caveats suppressed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.RiskWarning)
        return dict(risk.incremental), dict(risk.standalone)


def _keyed(values: Mapping[str, float], symbols: list[str] | None) -> dict[str, float]:
    """Allocation by symbol; array inputs come back keyed by column position ("0", "1", ...)."""
    if symbols is None:
        return dict(values)
    if list(values) == _positions(len(symbols)):  # the engine's column order: pair them up
        return dict(zip(symbols, values.values(), strict=True))
    return {symbols[int(k)]: v for k, v in values.items()}


@functools.lru_cache(maxsize=64)
def _positions(n: int) -> list[str]:
    """The keys the engine gives array inputs: "0" ... str(n - 1). Callers must not mutate it."""
    return [str(i) for i in range(n)]
