"""``/v1/admin``: what only an admin token may read (the sample of recent real requests)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from risk_service.api.context import Ctx, aware
from risk_service.api.errors import ERROR_RESPONSES, store_unavailable
from risk_service.api.schemas import ErrorBody, SampledRequest, SampledRequests
from risk_service.auth import Scope, require
from risk_service.store import repository

router = APIRouter(tags=["admin"])


@router.get(
    "/v1/admin/request-samples",
    response_model=SampledRequests,
    responses={503: {"model": ErrorBody, "description": "store unavailable"}, **ERROR_RESPONSES},
    dependencies=[Depends(require(Scope.ADMIN))],
)
def request_samples(
    ctx: Ctx,
    limit: Annotated[
        int, Query(ge=1, le=500, description="How many of the newest samples to return.")
    ] = 50,
) -> SampledRequests:
    """Recent real calculation requests, newest first (riskctl replays them in its shadow
    comparison). They hold callers' positions, hence the admin scope."""
    with store_unavailable("request sample store"), ctx.factory() as session:
        rows = repository.recent_request_samples(session, limit)
    sampler = ctx.sampler
    return SampledRequests(
        samples=[
            SampledRequest(
                id=r.id,
                method=r.method,
                path=r.path,
                body=r.body,
                received_at=aware(r.received_at),
                status=r.status,
            )
            for r in rows
        ],
        sample_size=sampler.keep if sampler.enabled else 0,
        sample_every=sampler.every,
    )
