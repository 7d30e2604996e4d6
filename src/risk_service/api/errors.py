"""The API's error body ``{"error": {"code", "message", "field"}}`` and its exception handlers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from risk_service import engine
from risk_service.api.metrics import REJECTED
from risk_service.api.schemas import ErrorBody
from risk_service.logs import get_logger

log = get_logger("risk_service.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    503: "unavailable",
}


#: The documented error answers of the ``/v1`` endpoints (OpenAPI ``responses``).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "malformed request",
        401: "missing or unknown token (staging, prod)",
        403: "token scope does not allow this endpoint",
        413: "request too large",
        415: "body is not JSON",
        422: "invalid input",
    }.items()
}


class ApiError(Exception):
    """An error answered with ``status`` and the standard error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


@contextlib.contextmanager
def store_unavailable(what: str) -> Iterator[None]:
    """Answer 503 ``"<what> unavailable"`` when the store fails inside the block."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise ApiError(503, "unavailable", f"{what} unavailable") from exc


def error_body(code: str, message: str, field: str | None) -> dict[str, Any]:
    """The standard error body."""
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A JSON error response (counted as rejected when it is a 4xx)."""
    if 400 <= status < 500:
        REJECTED.labels(code=code).inc()
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


def _loc_field(loc: Any) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "path", "query", "header"}:
        parts = parts[1:]
    return ".".join(parts) or None


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ApiError):  # pragma: no cover - registered for ApiError only
        raise exc
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)


async def _risk_input(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, engine.RiskInputError):  # pragma: no cover - registration
        raise exc
    return error_response(422, exc.code, exc.message, exc.field)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover - registration
        raise exc
    errors = list(exc.errors())
    first: dict[str, Any] = (
        dict(errors[0]) if errors else {"loc": (), "msg": "invalid request", "type": ""}
    )
    if first.get("type") == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "invalid JSON")
        return error_response(400, "malformed_json", f"request body is not valid JSON: {detail}")
    field = _loc_field(first.get("loc", ()))
    message = str(first.get("msg", "invalid request"))
    if field:
        message = f"{field}: {message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return error_response(422, "validation_error", message, field)


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover - registration
        raise exc
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 400 and "parsing the body" in message:
        message = "request body could not be parsed as JSON (malformed or nested too deeply)"
        code = "malformed_json"
    return error_response(exc.status_code, code, message, None, dict(exc.headers or {}) or None)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", path=request.url.path, error=type(exc).__name__, exc_info=exc)
    return error_response(500, "internal_error", "internal error; see the service log")


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(engine.RiskInputError, _risk_input)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
