"""Liveness and readiness, for Kubernetes probes (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter

from app.contract.health import HealthResponse, ReadyResponse
from app.http.errors import ErrorResponse
from app.http.route_dependencies import ReadyModel

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    """The process is up and answering; says nothing about the model."""
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyResponse,
    responses={503: {"model": ErrorResponse, "description": "No model yet, or draining."}},
)
async def readyz(model: ReadyModel) -> ReadyResponse:
    """Ready once a model is loaded; stays ready while a newer version fails to load."""
    return ReadyResponse(
        status="ready", model_name=model.version.name, model_version=model.version.version
    )
