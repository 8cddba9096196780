"""Connection limits uvicorn's httptools protocol lacks: head size, read deadlines, a JSON cap.

uvicorn (0.54, httptools) buffers a request head of any size (httptools grows each header
by concatenation, so a 64 MiB header costs seconds of CPU and hundreds of MB), has no
deadline for reading a head at all, cancels its keep-alive timer on every byte received and
arms it only after a response, so an idle new connection or one trickling a header line
every few seconds stays open for ever. This subclass counts the head's bytes before the
parser sees them and answers 431 once they pass the limit, gives every head a deadline that
arriving bytes do not extend (408, then close), and arms the idle timer from the moment a
connection is accepted. Past the connection cap a request gets the API's JSON 503 rather
than uvicorn's plain-text one, except the liveness probe, so an overloaded pod is not also
restarted.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from app.http.errors import ApiError, error_json

log = logging.getLogger("mlsys.api")

# The liveness probe answers even over the cap: a busy process is alive, and failing the
# probe would have Kubernetes restart the pod at the worst moment.
UNCAPPED_PATHS = frozenset({b"/healthz"})


@dataclass(frozen=True, kw_only=True)
class ConnectionLimits:
    """What one connection may cost; built from the settings by ``server.serve``."""

    max_head_bytes: int
    head_timeout_seconds: float
    idle_timeout_seconds: float
    max_connections: int


def limited_protocol(limits: ConnectionLimits) -> type[LimitedHttpToolsProtocol]:
    """A protocol class bound to ``limits``, for ``uvicorn.Config(http=...)``."""
    return type("BoundLimitedHttpToolsProtocol", (LimitedHttpToolsProtocol,), {"limits": limits})


def _error_body(status: int, code: str, message: str) -> bytes:
    return orjson.dumps(error_json(ApiError(status, code, message), None))


@functools.cache  # a handful of distinct answers, each sent to many attackers
def _refusal(status: int, code: str, message: str) -> bytes:
    body = _error_body(status, code, message)
    return b"".join(
        [
            STATUS_LINE[status],
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


_OVER_CAPACITY = _error_body(503, "over_capacity", "too many open connections; retry shortly")


async def _over_capacity(
    scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(_OVER_CAPACITY)),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _OVER_CAPACITY, "more_body": False})


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded head and deadlines on every wait."""

    limits: ClassVar[ConnectionLimits]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # uvicorn types this as whole seconds; call_later takes any float.
        self.timeout_keep_alive = self.limits.idle_timeout_seconds  # type: ignore[assignment]
        # uvicorn's own cap would answer in plain text; the cap is checked here instead.
        self.limit_concurrency = None
        self._reading_head = True
        self._head_begun = False
        self._head_bytes = 0
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # While a head is being read, the parser gets at most the bytes left under the limit,
        # so an oversized head is refused after max_head_bytes, never buffered whole.
        while data and self._reading_head:
            room = self.limits.max_head_bytes - self._head_bytes
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            super().data_received(piece)
            if self.transport.is_closing():
                return
            if self._reading_head and self._head_bytes >= self.limits.max_head_bytes:
                self._refuse(
                    431,
                    "headers_too_large",
                    f"request line and headers exceed {self.limits.max_head_bytes} bytes",
                )
                return
        if data:
            super().data_received(data)
        # A head that arrives whole (nearly always) needs no timer; one left unfinished gets
        # its deadline now, and later bytes do not move it.
        if (
            self._head_deadline is None
            and self._reading_head
            and (self._head_begun or self._head_bytes)
            and not self.transport.is_closing()
        ):
            self._head_deadline = self.loop.call_later(
                self.limits.head_timeout_seconds, self._head_deadline_passed
            )

    def on_message_begin(self) -> None:
        self._head_begun = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_begun = False
        self._cancel_head_deadline()
        if self._over_capacity() and self.url not in UNCAPPED_PATHS:
            # uvicorn starts (or queues) self.app for the request at this point.
            app, self.app = self.app, _over_capacity
            try:
                super().on_headers_complete()
            finally:
                self.app = app
            return
        super().on_headers_complete()

    def _over_capacity(self) -> bool:
        # The connection set includes this one; the task set does not yet hold this request.
        cap = self.limits.max_connections
        return len(self.connections) > cap or len(self.tasks) >= cap

    def on_message_complete(self) -> None:
        self._reading_head = True
        self._head_bytes = 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        cycle = self.cycle
        if cycle is not None and cycle.response_complete and cycle.more_body:
            # Answered before the body was read (401, 413, 504): the rest of the body and the
            # next head get one head deadline, so a trickled body cannot hold the connection.
            self._cancel_head_deadline()
            self._head_deadline = self.loop.call_later(
                self.limits.head_timeout_seconds, self._head_deadline_passed
            )
        super().on_response_complete()

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_deadline_passed(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        if self._reading_head and self._head_bytes:
            self._refuse(
                408,
                "header_timeout",
                f"request head not complete within {self.limits.head_timeout_seconds:g}s",
            )
        else:
            self.transport.close()

    def _refuse(self, status: int, code: str, message: str) -> None:
        log.info("connection refused", extra={"status": status, "reason": code})
        # Mid-response (a pipelined head), an answer now would pass for that response's.
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(_refusal(status, code, message))
        self.transport.close()
