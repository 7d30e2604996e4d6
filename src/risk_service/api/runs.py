"""``/v1/runs``: the daily risk run's stored results (read scope)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from risk_service.api.context import Ctx, aware
from risk_service.api.errors import ERROR_RESPONSES, ApiError, store_unavailable
from risk_service.api.schemas import ErrorBody, PortfolioResult, Release, RunResponse
from risk_service.auth import Scope, require
from risk_service.store import repository

router = APIRouter(tags=["runs"])


@router.get(
    "/v1/runs/{business_date}",
    response_model=RunResponse,
    responses={404: {"model": ErrorBody, "description": "no run for that date"}, **ERROR_RESPONSES},
    dependencies=[Depends(require(Scope.READ))],
)
def run(
    business_date: Annotated[
        dt.date, Path(description="Business date, YYYY-MM-DD.", examples=["2026-11-25"])
    ],
    ctx: Ctx,
) -> RunResponse:
    """That business date's run: status, release, per-portfolio results."""
    with store_unavailable("results store"), ctx.factory() as session:
        found = repository.get_run(session, business_date)
        if found is None:
            raise ApiError(
                404,
                "not_found",
                f"no risk run for {business_date.isoformat()}",
                "business_date",
            )
        results = repository.run_results(session, found.id)
    return RunResponse(
        business_date=found.business_date,
        status=found.status,
        environment=found.environment,
        release=Release(
            version=found.release_version,
            digest=found.release_digest,
            git_sha=found.git_sha,
        ),
        started_at=aware(found.started_at),
        finished_at=aware(found.finished_at),
        deadline=aware(found.deadline),
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
