"""One JSON error shape for every refusal, so clients can parse failures the same way."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.http.json_response import FastJSONResponse

log = logging.getLogger("mlsys.api")


class ErrorDetail(BaseModel):
    field: str | None = None
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """Raised by handlers; rendered as ``{"error": {...}}`` with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[ErrorDetail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "rows", 3, "x")`` -> ``rows[3].x``: the path a client can find in its JSON."""
    out = ""
    for part in loc:
        if part == "body" and not out:
            continue
        # Union members show up in the location as their type ("list[float]"); clients
        # care about where in their JSON the problem is, not which member was tried.
        if isinstance(part, str) and part.endswith("]") and "[" in part:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def error_json(error: ApiError, request_id: str | None) -> dict[str, Any]:
    """The one place the error shape is built; handlers and middleware all answer with it."""
    body = ErrorResponse(
        error=ErrorBody(
            code=error.code, message=error.message, details=error.details, request_id=request_id
        )
    )
    return body.model_dump()


def error_response(request: Request, error: ApiError) -> FastJSONResponse:
    content = error_json(error, getattr(request.state, "request_id", None))
    return FastJSONResponse(content, status_code=error.status, headers=error.headers)


def validation_details(errors: list[Any]) -> list[ErrorDetail]:
    return [ErrorDetail(field=field_path(e.get("loc", ())), message=e["msg"]) for e in errors]


async def unexpected_error(request: Request, exc: Exception) -> FastJSONResponse:
    """Any exception nothing else handled: the traceback to the log with the request id,
    a plain 500 to the client."""
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={"request_id": getattr(request.state, "request_id", None)},
    )
    return error_response(request, ApiError(500, "internal_error", "internal server error"))


def install(app: FastAPI) -> None:
    """Route every exception FastAPI knows about through the one error shape."""

    async def on_api_error(request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, RequestValidationError)
        error = ApiError(
            422,
            "invalid_request",
            "request failed validation",
            validation_details(list(exc.errors())),
        )
        return error_response(request, error)

    async def on_http(request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        error = ApiError(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))
        return error_response(request, error)

    async def on_disconnect(request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, ClientDisconnect)
        # The client's own doing, not a fault here: no traceback, and 499 (nginx's "client
        # closed request") in the access log and metrics. Nobody receives the answer.
        log.info(
            "client disconnected before its request was read",
            extra={"request_id": getattr(request.state, "request_id", None)},
        )
        error = ApiError(499, "client_closed_request", "the client closed the connection")
        return error_response(request, error)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(ClientDisconnect, on_disconnect)
    app.add_exception_handler(Exception, unexpected_error)


# OpenAPI description of the refusals every model route can answer with.
REFUSALS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Body is not valid JSON.",
        401: "Missing or unknown API key.",
        403: "The key lacks the scope.",
        413: "Body or row count over the configured limit.",
        422: "Input does not match the model signature.",
        429: "Rate limit for this key exceeded (see Retry-After).",
        503: "No model loaded yet.",
    }.items()
}
