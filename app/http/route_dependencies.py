"""What routes ask for before they run: the app state, a key with a scope, the model snapshot."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request

from app.http.auth import ApiKey, Scope
from app.http.errors import ApiError
from app.lifecycle.served_model import ServedModel
from app.wiring.state import AppState, state_of


def current_model(state: AppState) -> ServedModel:
    """The snapshot to answer with, or 503 while none is loaded yet."""
    model = state.swapper.current
    if model is None:
        raise ApiError(
            503,
            "model_not_ready",
            "no model is loaded yet; retry shortly",
            headers={"Retry-After": "5"},
        )
    return model


def ready_model(state: AppState) -> ServedModel:
    """For readiness probes: 503 while draining for shutdown, as well as before a model."""
    if state.draining.is_set():
        raise ApiError(503, "draining", "shutting down; send new requests elsewhere")
    return current_model(state)


def check_row_count(state: AppState, rows: int) -> None:
    if rows == 0:
        raise ApiError(422, "invalid_input", "send at least one row")
    if rows > state.settings.max_rows:
        raise ApiError(
            413, "too_many_rows", f"{rows} rows exceed the limit of {state.settings.max_rows}"
        )


def requires(scope: Scope) -> Any:
    """A router- or route-level dependency that admits only keys holding ``scope``."""

    async def admit(request: Request) -> ApiKey:
        return state_of(request).access.admit(request, scope)

    return Depends(admit)


async def _state(request: Request) -> AppState:
    return state_of(request)


async def _current_model(request: Request) -> ServedModel:
    return current_model(state_of(request))


async def _ready_model(request: Request) -> ServedModel:
    return ready_model(state_of(request))


State = Annotated[AppState, Depends(_state)]
CurrentModel = Annotated[ServedModel, Depends(_current_model)]
ReadyModel = Annotated[ServedModel, Depends(_ready_model)]
