"""Open Inference Protocol v2 (as KServe speaks it): health, metadata and infer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from app.contract.open_inference import (
    InferRequest,
    InferResponse,
    ModelMetadata,
    ModelReadiness,
    OutputTensor,
    ServerLive,
    ServerReady,
    TensorMetadata,
    to_matrix,
)
from app.http.errors import ApiError, ErrorResponse
from app.http.route_dependencies import CurrentModel, ReadyModel, requires
from app.http.scoring_route import Scoring, scoring_route
from app.lifecycle.served_model import ServedModel

router = APIRouter(prefix="/v2", tags=["open-inference-protocol"])
keyed_router = APIRouter(
    prefix="/v2", tags=["open-inference-protocol"], dependencies=[requires("predict")]
)
_NOT_SERVED: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse}}


def _check_name(model: ServedModel, name: str) -> None:
    if name != model.version.name:
        raise ApiError(404, "model_not_found", f"this server serves {model.version.name!r}")


def _served_name(request: Request, model: ServedModel) -> None:
    _check_name(model, request.path_params["name"])


@router.get("/health/live", response_model=ServerLive)
async def live() -> ServerLive:
    return ServerLive(live=True)


@router.get("/health/ready", response_model=ServerReady, responses={503: {"model": ErrorResponse}})
async def ready(_model: ReadyModel) -> ServerReady:
    return ServerReady(ready=True)


# Keyed: its answer names the served model, which is not for anonymous callers.
@keyed_router.get("/models/{name}/ready", response_model=ModelReadiness, responses=_NOT_SERVED)
async def model_ready(name: str, model: CurrentModel) -> ModelReadiness:
    _check_name(model, name)
    return ModelReadiness(name=model.version.name, ready=True)


@keyed_router.get("/models/{name}", response_model=ModelMetadata, responses=_NOT_SERVED)
async def metadata(name: str, model: CurrentModel) -> ModelMetadata:
    _check_name(model, name)
    classes = len(model.class_names)
    return ModelMetadata(
        name=model.version.name,
        versions=[model.version.version],
        platform=f"scikit-learn ({model.compiled.engine})",
        inputs=[
            TensorMetadata(
                name=c.name, datatype="INT64" if c.kind == "integer" else "FP64", shape=[-1]
            )
            for c in model.columns
        ],
        outputs=[
            TensorMetadata(name="label", datatype="INT64", shape=[-1]),
            TensorMetadata(name="probabilities", datatype="FP64", shape=[-1, classes]),
        ],
    )


@scoring_route(
    router,
    "/models/{name}/infer",
    scope="predict",
    body=InferRequest,
    response=InferResponse,
    preconditions=[_served_name],
)
async def infer(call: Scoring[InferRequest], name: str) -> InferResponse:
    """Infer with OIP v2 tensors (scope `predict`)."""
    payload, model = call.body, call.model
    wanted = payload.wanted_outputs()
    matrix = to_matrix(payload, model.columns, call.state.settings.extra_columns)
    result = await call.score(matrix)
    tensors: dict[str, OutputTensor] = {
        "label": {
            "name": "label",
            "datatype": "INT64",
            "shape": [len(matrix)],
            "data": result.labels.tolist(),
        },
        "probabilities": {
            "name": "probabilities",
            "datatype": "FP64",
            "shape": list(result.probabilities.shape),
            "data": result.probabilities.ravel().tolist(),
        },
    }
    return {
        "model_name": model.version.name,
        "model_version": model.version.version,
        "id": payload.id or call.request_id,
        "outputs": [tensors[n] for n in wanted],
    }
