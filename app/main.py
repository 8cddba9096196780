"""Application factory: wires settings, the model manager, routers and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import errors
from app.metrics import ApiMetrics
from app.middleware import RequestContextMiddleware
from app.model_manager import ModelManager
from app.responses import FastJSONResponse
from app.routers import health, predict
from app.settings import ApiSettings

API_VERSION = "1.0.0"


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the app; nothing touches the registry until the server starts (lifespan)."""
    settings = settings or ApiSettings()
    metrics = ApiMetrics()
    manager = ModelManager(settings, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        manager.start()
        try:
            yield
        finally:
            manager.stop()

    app = FastAPI(
        title="mlsys prediction API",
        version=API_VERSION,
        description="Serves the registry's champion model.",
        lifespan=lifespan,
        default_response_class=FastJSONResponse,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.manager = manager
    errors.install(app)
    app.include_router(health.router)
    app.include_router(predict.router)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app
