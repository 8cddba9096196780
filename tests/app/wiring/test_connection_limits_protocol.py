"""The limited protocol alone, fed bytes directly: where exactly the head limit falls."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from app.wiring.connection_limits import ConnectionLimits, limited_protocol

LIMIT = 1024


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: Any) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5555)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = [(b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _written(*chunks: bytes, app: Any = _ok) -> bytes:
    """Feed ``chunks`` to a fresh connection serving ``app``; everything it wrote."""

    async def run() -> bytes:
        config = uvicorn.Config(app, log_config=None, access_log=False)
        config.load()
        limits = ConnectionLimits(
            max_head_bytes=LIMIT,
            head_timeout_seconds=30,
            idle_timeout_seconds=30,
            max_connections=10,
        )
        protocol = limited_protocol(limits)(config, ServerState(), {})
        transport = _Transport()
        protocol.connection_made(transport)
        for chunk in chunks:
            protocol.data_received(chunk)
            for _ in range(20):  # let the app answer before the next chunk
                await asyncio.sleep(0)
        protocol.connection_lost(None)
        return transport.written

    return asyncio.run(run())


def _statuses(*chunks: bytes) -> list[int]:
    """Feed ``chunks`` to a fresh connection; the statuses it answered, in order."""
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", _written(*chunks))]


def _head(size: int, extra: bytes = b"") -> bytes:
    """A GET head of exactly ``size`` bytes."""
    start, end = b"GET / HTTP/1.1\r\nHost: t\r\nX-Pad: ", b"\r\n" + extra + b"\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


@pytest.mark.parametrize("split", [1, 100, LIMIT])
def test_a_head_of_exactly_the_limit_is_served_in_any_chunking(split: int):
    head = _head(LIMIT)
    assert len(head) == LIMIT
    statuses = _statuses(*(head[i : i + split] for i in range(0, LIMIT, split)))
    assert statuses == [200]


@pytest.mark.parametrize("split", [1, 100, LIMIT + 1])
def test_one_byte_more_is_refused_with_431(split: int):
    head = _head(LIMIT + 1)
    statuses = _statuses(*(head[i : i + split] for i in range(0, LIMIT + 1, split)))
    assert statuses == [431]


def test_a_body_in_the_same_chunk_as_the_head_does_not_count():
    body = b"x" * (4 * LIMIT)
    head = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)
    statuses = _statuses(head + body + _head(LIMIT))
    assert statuses == [200, 200]


@pytest.mark.parametrize("size", [LIMIT // 2, 4 * LIMIT, 70_000])
def test_a_body_cut_from_the_heads_chunk_reaches_the_app_intact(size: int):
    body = bytes(range(256)) * (size // 256) + b"end"
    head = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)
    written = _written(head + body, app=_echo)
    assert written.startswith(b"HTTP/1.1 200 ") and written.endswith(b"\r\n\r\n" + body)
