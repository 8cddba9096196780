"""Open Inference Protocol v2 (as KServe speaks it): health, metadata and infer."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from app.body import json_body, parse_body, read_capped
from app.direct_route import DirectRoute
from app.errors import REFUSALS, ApiError, ErrorDetail, ErrorResponse
from app.input_contract import from_split
from app.model_runtime import LoadedModel
from app.responses import FastJSONResponse
from app.schemas import Number
from app.service import (
    authorize,
    check_row_count,
    current_model,
    ready_model,
    score,
    state_of,
)

router = APIRouter(prefix="/v2", tags=["open-inference-protocol"])
infer_router = APIRouter(prefix="/v2", tags=["open-inference-protocol"], route_class=DirectRoute)

NumericType = Literal[
    "FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"
]
OUTPUTS = ("label", "probabilities")


class InferInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    shape: list[int] = Field(min_length=1, max_length=2)
    datatype: NumericType
    data: list[Number] | list[list[Number]]
    parameters: dict[str, Any] | None = None


class InferOutputRequest(BaseModel):
    name: str
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    inputs: list[InferInput] = Field(min_length=1)
    outputs: list[InferOutputRequest] | None = None
    parameters: dict[str, Any] | None = None


def _model_named(request: Request, name: str) -> tuple[Any, LoadedModel]:
    state = state_of(request)
    model = current_model(state)
    if name != model.version.name:
        raise ApiError(404, "model_not_found", f"this server serves {model.version.name!r}")
    return state, model


def _values(index: int, tensor: InferInput) -> np.ndarray:
    values = np.asarray(tensor.data, dtype=np.float64).ravel()
    expected = int(np.prod(tensor.shape))
    if values.size != expected:
        raise ApiError(
            422,
            "invalid_input",
            "tensor data does not match its shape",
            [
                ErrorDetail(
                    field=f"inputs[{index}].data",
                    message=f"{values.size} values for shape {tensor.shape}",
                )
            ],
        )
    if tensor.datatype.startswith(("INT", "UINT")) and np.any(np.mod(values, 1) != 0):
        raise ApiError(
            422,
            "invalid_input",
            "integer tensor holds fractions",
            [
                ErrorDetail(
                    field=f"inputs[{index}].data", message=f"{tensor.datatype} needs integers"
                )
            ],
        )
    return values


def _matrix(
    payload: InferRequest, model: LoadedModel, extra: Literal["reject", "ignore"]
) -> np.ndarray:
    """One [N, F] tensor in signature order, or one [N] (or [N, 1]) tensor per column."""
    tensors = payload.inputs
    names = set(model.feature_names)
    if len(tensors) == 1 and tensors[0].name not in names:
        tensor = tensors[0]
        if len(tensor.shape) != 2 or tensor.shape[1] != len(model.columns):
            raise ApiError(
                422,
                "invalid_input",
                "a single tensor must have shape [rows, features]",
                [
                    ErrorDetail(
                        field="inputs[0].shape",
                        message=f"expected [N, {len(model.columns)}], got {tensor.shape}",
                    )
                ],
            )
        data = _values(0, tensor).reshape(tensor.shape).tolist()
        return from_split(model.feature_names, data, model.columns, extra)
    rows = {t.shape[0] for t in tensors}
    bad_shape = [i for i, t in enumerate(tensors) if len(t.shape) == 2 and t.shape[1] != 1]
    if len(rows) != 1 or bad_shape:
        raise ApiError(422, "invalid_input", "per-column tensors need the same shape [N] or [N, 1]")
    columns = [t.name for t in tensors]
    data = np.column_stack([_values(i, t) for i, t in enumerate(tensors)]).tolist()
    return from_split(columns, data, model.columns, extra)


@router.get("/health/live")
async def live() -> dict[str, bool]:
    return {"live": True}


@router.get("/health/ready", responses={503: {"model": ErrorResponse}})
async def ready(request: Request) -> dict[str, bool]:
    ready_model(state_of(request))
    return {"ready": True}


@router.get("/models/{name}", responses={404: {"model": ErrorResponse}})
async def metadata(request: Request, name: str) -> dict[str, Any]:
    authorize(request, state_of(request), "predict")
    _, model = _model_named(request, name)
    return {
        "name": model.version.name,
        "versions": [model.version.version],
        "platform": f"scikit-learn ({model.compiled.engine})",
        "inputs": [
            {"name": c.name, "datatype": "INT64" if c.kind == "integer" else "FP64", "shape": [-1]}
            for c in model.columns
        ],
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, len(model.class_names)]},
        ],
    }


@router.get("/models/{name}/ready", responses={404: {"model": ErrorResponse}})
async def model_ready(request: Request, name: str) -> dict[str, Any]:
    _, model = _model_named(request, name)
    return {"name": model.version.name, "ready": True}


@infer_router.post(
    "/models/{name}/infer", responses=REFUSALS, openapi_extra=json_body(InferRequest)
)
async def infer(request: Request, name: str) -> FastJSONResponse:
    """Infer with OIP v2 tensors (scope `predict`)."""
    state = state_of(request)
    authorize(request, state, "predict")
    state, model = _model_named(request, name)
    payload = parse_body(InferRequest, await read_capped(request, state.settings.max_body_bytes))
    wanted = [o.name for o in payload.outputs] if payload.outputs else list(OUTPUTS)
    unknown = [n for n in wanted if n not in OUTPUTS]
    if unknown:
        raise ApiError(
            422, "invalid_request", f"unknown output(s) {unknown}; known {list(OUTPUTS)}"
        )
    matrix = _matrix(payload, model, state.settings.extra_columns)
    check_row_count(state, len(matrix))
    result = score(state, model, matrix)
    tensors = {
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
    return FastJSONResponse(
        {
            "model_name": model.version.name,
            "model_version": model.version.version,
            "id": payload.id or request.scope["state"].get("request_id"),
            "outputs": [tensors[n] for n in wanted],
        }
    )
