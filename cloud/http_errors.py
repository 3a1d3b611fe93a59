"""Map domain errors and request validation errors to JSON answers, in one place.

Every 4xx body has the shape ``{"error": "<code>", "detail": [{"field": "...", "message": "..."}]}``.
Messages never echo the input values (they may be personal data).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloud.errors import (
    CloudError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    TooManyRequests,
    Unavailable,
)

log = logging.getLogger(__name__)

STATUS_OF: dict[type[CloudError], int] = {
    NotFound: 404,
    InvalidInput: 422,
    Conflict: 409,
    NotAuthenticated: 401,
    Forbidden: 403,
    TooManyRequests: 429,
    Unavailable: 503,
}

_LOCATION_ROOTS = frozenset({"body", "query", "path", "header", "cookie"})


def error_body(code: str, detail: Sequence[tuple[str | None, str]]) -> dict[str, Any]:
    return {"error": code, "detail": [{"field": field, "message": message} for field, message in detail]}


def field_of(loc: Sequence[Any]) -> str | None:
    """``("body", "fix", "lat")`` -> ``"fix.lat"``; the location root (body/query/...) is dropped."""
    parts = [str(part) for part in loc]
    if parts and parts[0] in _LOCATION_ROOTS:
        parts = parts[1:]
    return ".".join(parts) or None


def status_of(exc: CloudError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


async def _on_cloud_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CloudError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(exc.code, [(exc.field, exc.message)]), status_code=status, headers=headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [(field_of(err.get("loc", ())), str(err.get("msg", "invalid"))) for err in exc.errors()]
    log.info("http.invalid_request path=%s fields=%s", request.url.path, ",".join(str(f) for f, _ in detail))
    return JSONResponse(error_body("validation", detail), status_code=422)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "http")
    return JSONResponse(
        error_body(code, [(None, str(exc.detail))]), status_code=exc.status_code, headers=exc.headers
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CloudError, _on_cloud_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
