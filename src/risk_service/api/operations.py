"""Operations endpoints, open in every environment: liveness, readiness, version, metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from risk_service.api import metrics
from risk_service.api.context import Ctx
from risk_service.api.schemas import Health, Readiness, VersionInfo
from risk_service.release_files import running_digest
from risk_service.store import database, repository

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready"}},
)
def readyz(ctx: Ctx) -> JSONResponse:
    """Readiness: store reachable, schema at head (or ahead of it: a newer release migrated
    the store during a canary), market data loaded; 503 otherwise."""
    checks = {"store": False, "schema": False, "market_data": False}
    detail: dict[str, str] = {}
    try:
        with ctx.store.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["store"] = True
        checks["schema"], detail["schema"] = database.schema_compatible(ctx.store)
        if checks["schema"]:
            with ctx.factory() as session:
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


@router.get("/version", response_model=VersionInfo)
async def version_info(ctx: Ctx) -> VersionInfo:
    """What is running: version, commit, artifact digest and environment."""
    return VersionInfo(
        version=ctx.version,
        git_sha=ctx.settings.git_sha,
        artifact_digest=running_digest(),  # from the release files, never the variable
        environment=ctx.settings.environment.value,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
)
async def prometheus() -> Response:
    """Prometheus exposition, aggregated across workers."""
    payload, content_type = metrics.render()
    return Response(payload, media_type=content_type)
