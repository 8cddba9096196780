"""Dependency aliases shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.errors import ApiError
from app.metrics import ApiMetrics
from app.model_manager import ModelManager
from app.model_runtime import LoadedModel
from app.settings import ApiSettings


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_manager(request: Request) -> ModelManager:
    manager: ModelManager = request.app.state.manager
    return manager


def get_metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


def get_model(manager: Annotated[ModelManager, Depends(get_manager)]) -> LoadedModel:
    """The model snapshot for this request; 503 until the first version is loaded."""
    model = manager.current
    if model is None:
        raise ApiError(
            503,
            "model_not_ready",
            "no model is loaded yet; retry shortly",
            headers={"Retry-After": "5"},
        )
    return model


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
ManagerDep = Annotated[ModelManager, Depends(get_manager)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
ModelDep = Annotated[LoadedModel, Depends(get_model)]
