"""Application factory: builds the state from settings and wires routes, errors and middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import start_http_server

from app.http import errors
from app.http.auth import AccessControl, KeyStore
from app.http.json_response import FastJSONResponse
from app.http.middleware import RequestContextMiddleware
from app.http.rate_limit import RateLimiter
from app.http.scoring_route import ScoringDispatch
from app.lifecycle.batching import MicroBatcher, compiled_linear, never_inline
from app.lifecycle.cpu_budget import limit_thread_pools
from app.lifecycle.model_swapper import ModelSwapper
from app.lifecycle.registry_client import Registry
from app.lifecycle.shadow import ShadowScorer
from app.metrics import ApiMetrics
from app.routes import health, mlflow_invocations, model_admin, open_inference, predict
from app.wiring.settings import ApiSettings
from app.wiring.state import AppState

API_VERSION = "1.0.0"
_DOCS_URL, _REDOC_URL = "/docs", "/redoc"
log = logging.getLogger("mlsys.api")


def build_state(settings: ApiSettings, registry: Registry | None = None) -> AppState:
    """Everything the routes share; ``registry`` replaces the one the settings name."""
    metrics = ApiMetrics()
    swapper = ModelSwapper(settings, metrics, registry)
    keys = (
        KeyStore(settings.api_keys_file)
        if settings.auth_enabled and settings.api_keys_file
        else None
    )
    return AppState(
        settings=settings,
        metrics=metrics,
        access=AccessControl(
            keys,
            RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
            metrics,
            RateLimiter(settings.rate_limit_rows_per_second, settings.rate_limit_rows_burst),
        ),
        swapper=swapper,
        batcher=MicroBatcher(
            max_rows=settings.batch_max_rows,
            max_wait_seconds=settings.batch_max_wait_ms / 1000,
            max_queued=settings.scoring_queue_limit,
            inline=compiled_linear if settings.score_linear_inline else never_inline,
            observe=metrics.observe_batch,
            # OpenMP's pool size belongs to the thread that sets it: the scoring thread.
            on_start=lambda: limit_thread_pools(settings.scoring_threads),
        ),
        shadow=ShadowScorer(lambda: swapper.shadow, metrics, settings.shadow_sample_rate)
        if settings.shadow_enabled
        else None,
    )


def create_app(settings: ApiSettings | None = None, registry: Registry | None = None) -> FastAPI:
    """Build the app; the key file is read now, the registry only once the server starts."""
    settings = settings or ApiSettings()
    state = build_state(settings, registry)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        metrics_server = None
        if settings.metrics_port is not None:
            metrics_server, _thread = start_http_server(
                settings.metrics_port, addr=settings.host, registry=state.metrics.registry
            )
        if state.shadow is not None:
            state.shadow.start()
        state.batcher.start()
        state.swapper.start()
        if state.access.keys is None:
            log.warning("authentication is OFF: every caller has every scope")
        try:
            yield
        finally:
            state.swapper.stop()
            state.batcher.stop()
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
        # The pages load Swagger UI and ReDoc from a public CDN: development only.
        docs_url=_DOCS_URL if settings.docs_enabled else None,
        redoc_url=_REDOC_URL if settings.docs_enabled else None,
        # Starlette builds the trailing-slash redirect from the Host header, which the client
        # chooses: an open redirect. A path with a stray slash is a plain 404 instead.
        redirect_slashes=False,
        # The API's metrics are Prometheus series and its traces none; FastAPI's OpenTelemetry
        # bridge would otherwise look up the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.mlsys = state
    errors.install(app)
    # FastAPI tries routes in order, a few microseconds each: the scoring routes, which take
    # nearly every request, come first. No two routes share a path.
    routers = (
        predict.router,
        mlflow_invocations.router,
        open_inference.keyed_router,
        health.router,
        open_inference.router,
        model_admin.router,
        model_admin.admin_router,
    )
    for router in routers:
        app.include_router(router)
    # Inside the request context (ids, deadline, headers, access log), outside FastAPI's
    # routing: the scoring routes' exact paths are served without the route search.
    app.add_middleware(
        ScoringDispatch, routers=routers, exception_handlers=dict(app.exception_handlers)
    )
    app.add_middleware(
        RequestContextMiddleware,
        metrics=state.metrics,
        timeout_seconds=settings.request_timeout_seconds,
        docs_paths=(_DOCS_URL, _REDOC_URL) if settings.docs_enabled else (),
        on_error=errors.unexpected_error,
    )
    return app
