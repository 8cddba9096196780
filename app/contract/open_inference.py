"""Open Inference Protocol v2 (as KServe speaks it): tensors in and out, and their matrix."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from app.contract.input_matrix import from_split
from app.contract.scoring_request import Number, ScoringRequest
from app.http.errors import ApiError, ErrorDetail
from app.model_contract import InputColumn

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


class InferRequest(ScoringRequest):
    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    inputs: list[InferInput] = Field(min_length=1)
    outputs: list[InferOutputRequest] | None = None
    parameters: dict[str, Any] | None = None

    def row_count(self) -> int:
        """The batch size the tensors declare; their data is checked against it later."""
        return self.inputs[0].shape[0]

    @classmethod
    def raw_row_count(cls, raw: Any) -> int:
        inputs = raw.get("inputs") if isinstance(raw, dict) else None
        first = inputs[0] if isinstance(inputs, list) and inputs else None
        shape = first.get("shape") if isinstance(first, dict) else None
        if isinstance(shape, list) and shape and isinstance(shape[0], int):
            return shape[0]
        return 0

    def wanted_outputs(self) -> list[str]:
        wanted = [o.name for o in self.outputs] if self.outputs else list(OUTPUTS)
        unknown = [n for n in wanted if n not in OUTPUTS]
        if unknown:
            raise ApiError(
                422, "invalid_request", f"unknown output(s) {unknown}; known {list(OUTPUTS)}"
            )
        return wanted


class OutputTensor(TypedDict):
    name: str
    datatype: str
    shape: list[int]
    data: list[Any]


class InferResponse(TypedDict):
    model_name: str
    model_version: str
    id: str | None
    outputs: list[OutputTensor]


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ModelReadiness(BaseModel):
    name: str
    ready: bool


class ServerLive(BaseModel):
    live: bool


class ServerReady(BaseModel):
    ready: bool


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


def to_matrix(
    payload: InferRequest, columns: list[InputColumn], extra: Literal["reject", "ignore"]
) -> np.ndarray:
    """One [N, F] tensor in signature order, or one [N] (or [N, 1]) tensor per column."""
    tensors = payload.inputs
    names = [c.name for c in columns]
    if len(tensors) == 1 and tensors[0].name not in names:
        tensor = tensors[0]
        if len(tensor.shape) != 2 or tensor.shape[1] != len(columns):
            raise ApiError(
                422,
                "invalid_input",
                "a single tensor must have shape [rows, features]",
                [
                    ErrorDetail(
                        field="inputs[0].shape",
                        message=f"expected [N, {len(columns)}], got {tensor.shape}",
                    )
                ],
            )
        data = _values(0, tensor).reshape(tensor.shape).tolist()
        return from_split(names, data, columns, extra)
    rows = {t.shape[0] for t in tensors}
    bad_shape = [i for i, t in enumerate(tensors) if len(t.shape) == 2 and t.shape[1] != 1]
    if len(rows) != 1 or bad_shape:
        raise ApiError(422, "invalid_input", "per-column tensors need the same shape [N] or [N, 1]")
    data = np.column_stack([_values(i, t) for i, t in enumerate(tensors)]).tolist()
    return from_split([t.name for t in tensors], data, columns, extra)
