"""``POST /v1/portfolio/es``: a book's FRTB expected shortfall (BCBS MAR33).

The route builds the engine's inputs (inline returns, or the stored market data as
``/v1/portfolio/var`` reads it), calls :func:`risk_service.engine.frtb_es` and answers. Bad input
gets the API's standard 4xx bodies: pydantic validation (422), the engine's ``RiskInputError``
(422, via the handlers in :mod:`risk_service.api.errors`), sizes over the limits (413).
Authentication: the router's ``require(Scope.COMPUTE)``, as for ``/v1/portfolio/var``.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import warnings
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError

from risk_service import engine
from risk_service.api import metrics
from risk_service.api.context import Ctx
from risk_service.api.errors import ERROR_RESPONSES, ApiError
from risk_service.api.schemas import Number, Symbol
from risk_service.auth import Scope, require

T = TypeVar("T")

#: Windows (business days) a request may ask for: at least enough overlapping 10-day sums to
#: resolve the 97.5 % tail of the current period, at most the stored-data limit.
Window = Annotated[int, Field(strict=True, ge=50, le=10_000)]


class BaseHorizonMethodName(enum.StrEnum):
    """How 1-day P&L becomes 10-day P&L."""

    OVERLAPPING = "overlapping"
    SQRT = "sqrt"


class PortfolioEsRequest(BaseModel):
    """A book, each position's liquidity horizon, and optionally the reduced factor set."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "positions": {"EQ00000": 1_000_000.0, "RT00001": -400_000.0},
                    "liquidity_horizons": {"RT00001": 40},
                    "reduced_factors": ["EQ00000"],
                    "window": 500,
                }
            ]
        },
    )

    positions: dict[Symbol, Number] = Field(
        min_length=1, description="Currency notional by symbol (short positions negative)."
    )
    returns: dict[Symbol, list[Number]] | None = Field(
        default=None,
        description="Aligned daily return history by symbol, oldest first; omit to use the "
        "stored market data.",
    )
    liquidity_horizons: dict[Symbol, Annotated[int, Field(strict=True)]] = Field(
        default_factory=dict,
        description="Liquidity horizon in days (10, 20, 40, 60 or 120, MAR33.12) by symbol; "
        "positions not named take the 10-day base horizon.",
    )
    reduced_factors: list[Symbol] | None = Field(
        default=None,
        max_length=10_000,
        description="Positions of the reduced factor set; given, the stressed ES is computed "
        "over the worst window of their P&L in the history.",
    )
    current_window: Window = Field(default=250, description="Days in the current period.")
    stress_window: Window = Field(default=250, description="Days in the stressed period.")
    base_horizon_method: BaseHorizonMethodName = Field(
        default=BaseHorizonMethodName.OVERLAPPING,
        description="overlapping 10-day sums of daily P&L (default: keeps the real 10-day "
        "paths) or sqrt (√10 × the 1-day ES, assumes i.i.d. days).",
    )
    as_of: dt.date | None = Field(
        default=None, description="Stored data only: last business date of the history."
    )
    window: Window | None = Field(
        default=None, description="Stored data only: business days of history to use."
    )


class StressedPeriod(BaseModel):
    """The stressed ES and the period chosen for it (rows of the history, end exclusive)."""

    reduced_factors: list[str]
    start_index: int
    end_index: int
    es_reduced_stressed: float
    es_full_current: float
    es_reduced_current: float
    stressed_es: float
    reduced_share: float = Field(description="ES_R,C / ES_F,C (MAR33 expects ≥ 0.75).")


class PortfolioEsResponse(BaseModel):
    """A book's FRTB ES at 97.5 % over the 10-day base horizon; losses are positive."""

    expected_shortfall: float = Field(description="Liquidity-adjusted ES (MAR33.4 cascade).")
    es_by_horizon: list[float]
    horizons: list[int]
    liquidity_horizons: dict[str, int]
    stressed: StressedPeriod | None
    confidence: float
    base_horizon: int
    base_horizon_method: str
    observations: int
    current_observations: int
    as_of: dt.date | None
    version: str
    warnings: list[str] = []


def _caveats(call: Callable[[], T]) -> tuple[T, list[str]]:
    """Run an engine call, returning its numerical caveats instead of letting them escape."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", engine.RiskWarning)
        warnings.simplefilter("error", RuntimeWarning)
        try:
            value = call()
        except (FloatingPointError, RuntimeWarning, OverflowError) as exc:
            raise ApiError(
                422,
                "non_finite_result",
                f"the calculation overflowed: inputs too large in magnitude ({exc})",
                "returns",
            ) from exc
    return value, [str(w.message) for w in caught if issubclass(w.category, engine.RiskWarning)]


def _check_finite(values: list[float]) -> None:
    if not all(math.isfinite(v) for v in values):
        raise ApiError(
            422,
            "non_finite_result",
            "the result is not a finite number: inputs too large in magnitude",
            "returns",
        )


router = APIRouter(
    tags=["risk"], responses=ERROR_RESPONSES, dependencies=[Depends(require(Scope.COMPUTE))]
)


@router.post("/v1/portfolio/es", response_model=PortfolioEsResponse)
def portfolio_es(request: PortfolioEsRequest, ctx: Ctx) -> PortfolioEsResponse:
    settings, market, version = ctx.settings, ctx.market, ctx.version
    """FRTB ES of a book: ES by liquidity horizon, the MAR33.4 cascade and, given a reduced
    factor set, the stressed ES with the stressed period it chose."""
    symbols = list(request.positions)
    returns: Any
    as_of: dt.date | None = None
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
            scenarios = market.scenarios(symbols, request.as_of, request.window)
        except SQLAlchemyError as exc:
            raise ApiError(503, "unavailable", "market data store unavailable") from exc
        as_of = scenarios.as_of
        matrix = scenarios.matrix
        returns = {s: matrix[:, j] for j, s in enumerate(symbols)}
    result, caveats = _caveats(
        lambda: engine.frtb_es(
            request.positions,
            returns,
            request.liquidity_horizons,
            reduced_factors=request.reduced_factors,
            current_window=request.current_window,
            stress_window=request.stress_window,
            method=request.base_horizon_method.value,
        )
    )
    stressed = None
    if result.stressed is not None:
        s = result.stressed
        stressed = StressedPeriod(
            reduced_factors=list(s.reduced_factors),
            start_index=s.window.start,
            end_index=s.window.stop,
            es_reduced_stressed=s.es_reduced_stressed,
            es_full_current=s.es_full_current,
            es_reduced_current=s.es_reduced_current,
            stressed_es=s.stressed_es,
            reduced_share=s.reduced_share if math.isfinite(s.reduced_share) else 0.0,
        )
        _check_finite([s.stressed_es, s.es_reduced_stressed])
    _check_finite([result.liquidity_adjusted_es, *result.es_by_horizon])
    metrics.CALCULATIONS.labels(endpoint="portfolio_es", method="historical").inc()
    return PortfolioEsResponse(
        expected_shortfall=result.liquidity_adjusted_es,
        es_by_horizon=list(result.es_by_horizon),
        horizons=list(result.horizons),
        liquidity_horizons=result.liquidity_horizons,
        stressed=stressed,
        confidence=result.confidence,
        base_horizon=result.base_horizon,
        base_horizon_method=result.method,
        observations=result.observations,
        current_observations=result.current_observations,
        as_of=as_of,
        version=version,
        warnings=caveats,
    )


__all__ = ["PortfolioEsRequest", "PortfolioEsResponse", "StressedPeriod", "router"]
