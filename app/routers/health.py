"""Liveness and readiness, for Kubernetes probes (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.errors import ErrorResponse
from app.schemas import HealthResponse, ReadyResponse
from app.service import ready_model, state_of

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
async def readyz(request: Request) -> ReadyResponse:
    """Ready once a model is loaded; stays ready while a newer version fails to load."""
    model = ready_model(state_of(request))
    return ReadyResponse(
        status="ready", model_name=model.version.name, model_version=model.version.version
    )
