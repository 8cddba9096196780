"""Request bodies: read with a hard size cap, then validated from raw bytes in one pass."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from app.http.errors import ApiError, validation_details

ModelT = TypeVar("ModelT", bound=BaseModel)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"request body exceeds {limit} bytes")


async def read_capped(request: Request, limit: int) -> bytes:
    """The raw body, refusing with 413 as soon as it is known to exceed ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def openapi_request_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI request body for a handler that validates raw bytes itself."""
    schema = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": True, "content": schema}}


def parse_body(model: type[ModelT], body: bytes) -> ModelT:
    """Validate the raw JSON in one pass (pydantic's Rust parser, no intermediate dicts)."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise ApiError(400, "invalid_json", "request body is not valid JSON") from None
        raise ApiError(
            422, "invalid_request", "request failed validation", validation_details(errors)
        ) from None
