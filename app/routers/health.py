"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from app.deps import MetricsDep, ModelDep
from app.errors import ErrorResponse
from app.schemas import HealthResponse, ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    """The process is up and answering; says nothing about the model."""
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyResponse,
    responses={503: {"model": ErrorResponse, "description": "No model loaded yet."}},
)
async def readyz(model: ModelDep) -> ReadyResponse:
    """Ready once a model is loaded; stays ready while a newer version fails to load."""
    return ReadyResponse(
        status="ready", model_name=model.version.name, model_version=model.version.version
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(registry: MetricsDep) -> Response:
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
