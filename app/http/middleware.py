"""Pure ASGI middleware: request ids, timeouts, security headers, access logs and metrics."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.errors import ApiError, error_json
from app.metrics import ApiMetrics
from app.wiring.logging_setup import AccessLog

access_log = AccessLog(logging.getLogger("mlsys.api.access"))
# The app's handler for any exception nothing else handled: logs it, answers a JSON 500.
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Unique, not secret: a random per-process prefix and a counter, far cheaper than uuid4.
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNTER = itertools.count(1)
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
# The API answers JSON only: nothing it sends may load, run, frame or submit anything.
_STRICT_CSP = (
    b"content-security-policy",
    b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
)
# The interactive docs (off unless MLSYS_API_DOCS_ENABLED) are pages that FastAPI builds
# with an inline start-up script and Swagger UI / ReDoc from jsDelivr: they may load that
# and nothing else, and call back only to this origin (for /openapi.json).
_DOCS_CSP = (
    b"content-security-policy",
    b"default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    b"font-src https://fonts.gstatic.com; img-src data: https://fastapi.tiangolo.com "
    b"https://cdn.redoc.ly; worker-src blob:; connect-src 'self'; frame-ancestors 'none'; "
    b"base-uri 'none'; form-action 'none'",
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """Accepts a well-formed ``X-Request-ID`` or makes one, and echoes it on the response."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: ApiMetrics,
        timeout_seconds: float,
        docs_paths: tuple[str, ...] = (),
        on_error: ErrorHandler | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.timeout = timeout_seconds
        self.docs_paths = docs_paths
        self.on_error = on_error

    def _policy(self, path: str) -> tuple[bytes, bytes]:
        for docs in self.docs_paths:
            if path == docs or path.startswith(docs + "/"):
                return _DOCS_CSP
        return _STRICT_CSP

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        if incoming and _VALID_REQUEST_ID.match(incoming):
            request_id = incoming
        else:
            request_id = f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        response_started = False
        started = time.perf_counter()
        headers_extra = [
            *_SECURITY_HEADERS,
            self._policy(scope["path"]),
            (b"x-request-id", request_id.encode()),
        ]

        async def send_wrapped(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message["headers"] = [*message.get("headers", []), *headers_extra]
            await send(message)

        try:
            async with asyncio.timeout(self.timeout):
                await self.app(scope, receive, send_wrapped)
        except TimeoutError:
            # Once headers are out nothing can be said; the client sees a cut-off body.
            if not response_started:
                await self._timed_out(send_wrapped, request_id)
            status = 504
        except Exception as exc:
            # Answered here, not by Starlette's server-error middleware outside this one, so
            # a 500 carries the request id and the security headers like every other answer,
            # and the connection stays open. ``on_error`` logs the traceback.
            if response_started or self.on_error is None:
                raise
            response = await self.on_error(Request(scope, receive), exc)
            await response(scope, receive, send_wrapped)
        finally:
            self._record(scope, status, time.perf_counter() - started, request_id)

    async def _timed_out(self, send: Send, request_id: str) -> None:
        error = ApiError(504, "timeout", f"request took longer than {self.timeout:g}s")
        body = orjson.dumps(error_json(error, request_id))
        await send(
            {
                "type": "http.response.start",
                "status": error.status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, status: int, elapsed: float, request_id: str) -> None:
        route: Any = scope.get("route")
        template = getattr(route, "path", "unmatched")
        method = scope.get("method", "")
        self.metrics.requests.labels(template, method, str(status)).inc()
        self.metrics.latency.labels(template, method).observe(elapsed)
        access_log(
            {
                "request_id": request_id,
                "key_id": scope["state"].get("key_id"),
                "method": method,
                "route": template,
                "status": status,
                "duration_ms": round(elapsed * 1000, 3),
            }
        )
