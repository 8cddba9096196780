"""Request bodies: read with a hard size cap, then validated from raw bytes in one pass."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from app.http.errors import ApiError, validation_details

ModelT = TypeVar("ModelT", bound=BaseModel)
# Bodies up to this size (about 150 rows of 30 features) are parsed on the event loop, where
# a hand-off would cost more than the parse; larger ones go to a worker thread, so one
# request cannot hold the loop for long.
INLINE_PARSE_BYTES = 128 * 1024
# Parsing holds the GIL. One large parse at a time shares it with the event loop, which
# then still answers every few milliseconds; ten at once would leave the loop a tenth of it
# (a stalled /healthz) and hold ten parsed bodies in memory. The others wait their turn.
_LARGE_PARSES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _large_parse_gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _LARGE_PARSES.get(loop)
    if gate is None:
        gate = _LARGE_PARSES[loop] = asyncio.Semaphore(1)
    return gate


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


def require_json(content_type: str | None) -> None:
    """415 unless ``content_type`` is JSON we read: the media type in any letter case (RFC 9110,
    section 8.3.1) and, if a charset is given, UTF-8, JSON's only encoding (RFC 8259, 8.1)."""
    media_type, *parameters = (content_type or "").split(";")
    if media_type.strip().lower() != "application/json":
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise ApiError(
                415, "unsupported_media_type", f"JSON must be UTF-8, not charset={charset}"
            )


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


def count_then_parse(
    model: type[ModelT], body: bytes, count: Callable[[Any], int], check: Callable[[int], None]
) -> ModelT:
    """For large bodies: count rows with a fast scan (orjson), refuse, and only then validate."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "request body is not valid JSON") from None
    check(count(raw))
    return parse_body(model, body)


async def parse_capped(
    model: type[ModelT], body: bytes, count: Callable[[Any], int], check: Callable[[int], None]
) -> ModelT:
    """Small bodies inline; large ones counted and parsed on a worker thread, one at a time."""
    if len(body) <= INLINE_PARSE_BYTES:
        return parse_body(model, body)
    async with _large_parse_gate():
        return await run_in_threadpool(count_then_parse, model, body, count, check)
