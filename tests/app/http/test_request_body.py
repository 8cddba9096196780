"""Request bodies: capped while streaming, parsed from raw bytes, refused in the error shape."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from starlette.requests import Request

from app.contract.predict import PredictRequest
from app.http import request_body
from app.http.errors import ApiError
from app.http.request_body import (
    openapi_request_body,
    parse_body,
    read_capped,
    require_json,
)


def _request(chunks: list[bytes], content_length: int | None = None) -> Request:
    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive():
        return messages.pop(0)

    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


def test_a_body_under_the_cap_is_read_whole():
    assert asyncio.run(read_capped(_request([b"ab", b"cd"]), 4)) == b"abcd"


def test_a_declared_length_over_the_cap_is_refused_before_reading():
    request = _request([b"never read"], content_length=10_000)
    with pytest.raises(ApiError) as refused:
        asyncio.run(read_capped(request, 1024))
    assert refused.value.status == 413 and refused.value.code == "payload_too_large"


def test_a_streamed_body_over_the_cap_is_refused_without_a_declared_length():
    with pytest.raises(ApiError) as refused:
        asyncio.run(read_capped(_request([b"x" * 600, b"x" * 600]), 1024))
    assert refused.value.status == 413


def test_parse_body_tells_bad_json_from_bad_fields():
    with pytest.raises(ApiError) as not_json:
        parse_body(PredictRequest, b"{nope")
    assert (not_json.value.status, not_json.value.code) == (400, "invalid_json")
    with pytest.raises(ApiError) as invalid:
        parse_body(PredictRequest, b'{"rows": [{"a": "1"}]}')
    assert (invalid.value.status, invalid.value.code) == (422, "invalid_request")
    assert invalid.value.details[0].field == "rows[0].a"
    assert parse_body(PredictRequest, b'{"rows": [{"a": 1.5}]}').row_count() == 1


def test_openapi_request_body_is_the_models_schema():
    body = openapi_request_body(PredictRequest)["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == PredictRequest.model_json_schema()


@pytest.mark.parametrize(
    "header",
    [
        "application/json",
        "APPLICATION/JSON",
        "application/json;charset=utf-8",
        'Application/JSON; Charset="UTF-8"',
    ],
)
def test_json_media_types_are_read_case_insensitively(header: str):
    require_json(header)


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (None, "send Content-Type: application/json"),
        ("text/csv", "send Content-Type: application/json"),
        ("application/json; charset=latin-1", "UTF-8"),
        ("application/jsonx", "send Content-Type: application/json"),
    ],
)
def test_other_media_types_and_charsets_are_refused(header: str | None, says: str):
    with pytest.raises(ApiError) as refused:
        require_json(header)
    assert refused.value.status == 415 and says in refused.value.message


def test_large_bodies_are_parsed_one_at_a_time(monkeypatch: pytest.MonkeyPatch):
    """Parses hold the GIL: running them together would starve the event loop."""
    active, most = 0, 0
    lock = threading.Lock()

    def slow_parse(model, body, count, check):
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return body

    monkeypatch.setattr(request_body, "count_then_parse", slow_parse)
    large = b" " * (request_body.INLINE_PARSE_BYTES + 1)

    async def many() -> list[object]:
        calls = [
            request_body.parse_capped(PredictRequest, large, len, lambda _: None) for _ in range(6)
        ]
        return await asyncio.gather(*calls)

    assert asyncio.run(many()) == [large] * 6
    assert most == 1
