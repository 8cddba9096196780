"""Application factory: wires settings, the model manager, routers and middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import start_http_server

from app import errors
from app.auth import KeyStore
from app.metrics import ApiMetrics
from app.middleware import RequestContextMiddleware
from app.model_manager import ModelManager
from app.rate_limit import RateLimiter
from app.responses import FastJSONResponse
from app.routers import admin, health, mlflow_compat, oip, predict
from app.service import AppState
from app.settings import ApiSettings
from app.shadow import ShadowScorer

API_VERSION = "1.0.0"
log = logging.getLogger("mlsys.api")


def build_state(settings: ApiSettings) -> AppState:
    metrics = ApiMetrics()
    manager = ModelManager(settings, metrics)
    return AppState(
        settings=settings,
        metrics=metrics,
        manager=manager,
        keys=KeyStore(settings.api_keys_file)
        if settings.auth_enabled and settings.api_keys_file
        else None,
        limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        shadow=ShadowScorer(lambda: manager.shadow, metrics, settings.shadow_sample_rate)
        if settings.shadow_enabled
        else None,
    )


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the app; the key file is read now, the registry only once the server starts."""
    settings = settings or ApiSettings()
    state = build_state(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        metrics_server = None
        if settings.metrics_port is not None:
            metrics_server, _thread = start_http_server(
                settings.metrics_port, addr=settings.host, registry=state.metrics.registry
            )
        if state.shadow is not None:
            state.shadow.start()
        state.manager.start()
        if state.keys is None:
            log.warning("authentication is OFF: every caller has every scope")
        try:
            yield
        finally:
            state.manager.stop()
            if state.shadow is not None:
                state.shadow.stop()
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()

    app = FastAPI(
        title="mlsys prediction API",
        version=API_VERSION,
        description="Serves the registry's champion model. Model routes need an API key "
        "(`Authorization: Bearer <key>` or `X-API-Key`).",
        lifespan=lifespan,
        default_response_class=FastJSONResponse,
    )
    app.state.mlsys = state
    errors.install(app)
    for router in (
        health.router,
        predict.router,
        mlflow_compat.router,
        oip.router,
        oip.infer_router,
        admin.router,
    ):
        app.include_router(router)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=state.metrics,
        timeout_seconds=settings.request_timeout_seconds,
    )
    return app
