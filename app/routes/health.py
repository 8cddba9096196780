"""Liveness and readiness, for Kubernetes probes (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from app.contract.health import HealthResponse, ReadyResponse
from app.http.errors import ErrorResponse
from app.http.route_dependencies import ReadyModel, State

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    """The process is up and answering; says nothing about the model."""
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyResponse | HealthResponse,
    responses={503: {"model": ErrorResponse, "description": "No model yet, or draining."}},
)
async def readyz(
    request: Request, model: ReadyModel, state: State
) -> ReadyResponse | HealthResponse:
    """Ready once a model is loaded; stays ready while a newer version fails to load.

    The model's name and version are given only to a caller with a valid key (of any scope):
    probes need the status alone, and the served model is not for anonymous callers.
    """
    if state.access.identify(request) is None:
        return HealthResponse(status="ready")
    return ReadyResponse(
        status="ready", model_name=model.version.name, model_version=model.version.version
    )
