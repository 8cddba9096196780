"""Runs the API under uvicorn with a drain phase: on SIGTERM, fail readiness, serve, then stop.

Kubernetes removes a pod from its Service only after readiness fails; stopping the listener
at once would reset connections that were already on their way. So the first SIGTERM only
marks the app as draining for ``drain_seconds``; then uvicorn's own graceful shutdown stops
accepting and lets in-flight requests finish within the grace period. A second signal, or
Ctrl-C (SIGINT) at a terminal, skips the drain.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from app.http.auth import KeyFileError
from app.wiring.connection_limits import ConnectionLimits, limited_protocol
from app.wiring.factory import create_app
from app.wiring.logging_setup import configure_logging
from app.wiring.settings import ApiSettings

log = logging.getLogger("mlsys.api")


class DrainingServer(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, drain_seconds: float, on_drain: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self._drain_seconds = drain_seconds
        self._on_drain = on_drain
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Ctrl-C at a terminal means "stop now"; only SIGTERM (Kubernetes) drains first.
        if sig != signal.SIGTERM or self._draining or self._drain_seconds <= 0:
            super().handle_exit(sig, frame)
            return
        self._draining = True
        self._on_drain()
        log.info("draining before shutdown", extra={"drain_seconds": self._drain_seconds})
        timer = threading.Timer(self._drain_seconds, super().handle_exit, args=(sig, None))
        timer.daemon = True
        timer.start()


def connection_limits(settings: ApiSettings) -> ConnectionLimits:
    """What one connection may cost, from the settings."""
    return ConnectionLimits(
        max_head_bytes=settings.max_header_bytes,
        head_timeout_seconds=settings.header_timeout_seconds,
        idle_timeout_seconds=settings.keep_alive_timeout_seconds,
        max_connections=settings.max_connections,
    )


def uvicorn_config(app: FastAPI, settings: ApiSettings) -> uvicorn.Config:
    """How uvicorn runs the app: one worker on uvloop, httptools with the connection limits."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        http=limited_protocol(connection_limits(settings)),
        loop="uvloop",
    )


def serve() -> None:
    """Validate the settings, build the app and serve it until a signal stops it."""
    try:
        settings = ApiSettings()
        configure_logging(settings.log_level)
        app = create_app(settings)
    except (ValidationError, KeyFileError) as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    config = uvicorn_config(app, settings)
    state = app.state.mlsys
    DrainingServer(config, settings.shutdown_drain_seconds, state.draining.set).run()
