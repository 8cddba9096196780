"""Open Inference Protocol v2 (as KServe speaks it): tensors in and out, and their matrix."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from typing_extensions import TypedDict

from app.contract.input_matrix import from_split
from app.contract.scoring_request import Number, ScoringRequest
from app.http.errors import ApiError, ErrorDetail
from app.model_contract import InputColumn

# BYTES is not offered: every model input is a number.
Datatype = Literal[
    "BOOL",
    "FP64",
    "FP32",
    "FP16",
    "INT64",
    "INT32",
    "INT16",
    "INT8",
    "UINT64",
    "UINT32",
    "UINT16",
    "UINT8",
]
OUTPUTS = ("label", "probabilities")


def _integer_range(bits: int, signed: bool) -> tuple[int, int]:
    """The type's values as ``[low, high)``; both are powers of two, exact as float64."""
    return (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits)


_INTEGER_RANGES = {
    f"{'' if signed else 'U'}INT{bits}": _integer_range(bits, signed)
    for bits in (8, 16, 32, 64)
    for signed in (True, False)
}
_FLOAT_MAX = {
    name: float(np.finfo(dtype).max)
    for name, dtype in (("FP16", np.float16), ("FP32", np.float32), ("FP64", np.float64))
}


class InferInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    shape: list[Annotated[int, Field(strict=True, ge=0)]] = Field(min_length=1, max_length=2)
    datatype: Datatype
    # Flat or nested, all numbers or all booleans; the datatype decides which is right.
    data: list[Number] | list[list[Number]] | list[StrictBool] | list[list[StrictBool]]
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


def _refuse(index: int, tensor: InferInput, message: str, problem: str) -> ApiError:
    detail = ErrorDetail(
        field=f"inputs[{index}].data", message=f"tensor {tensor.name!r}: {problem}"
    )
    return ApiError(422, "invalid_input", message, [detail])


def _shape_problem(tensor: InferInput) -> str | None:
    """Why the data cannot have the declared shape; nested data must match it row by row."""
    shape, data = tensor.shape, tensor.data
    if not (data and isinstance(data[0], list)):
        expected = math.prod(shape)
        return None if len(data) == expected else f"{len(data)} values for shape {shape}"
    if len(shape) != 2:
        return f"nested data needs a shape of two dimensions, got {shape}"
    if len(data) != shape[0]:
        return f"{len(data)} rows for shape {shape}"
    for number, row in enumerate(data):
        if not isinstance(row, list) or len(row) != shape[1]:
            width = len(row) if isinstance(row, list) else 1
            return f"row {number} has {width} values; shape {shape} needs {shape[1]}"
    return None


def _datatype_problem(tensor: InferInput, values: np.ndarray, booleans: bool) -> str | None:
    """Why the values do not fit the datatype: kind, fractions or range."""
    datatype = tensor.datatype
    if datatype == "BOOL":
        return None if booleans else "BOOL needs true or false"
    if booleans:
        return f"{datatype} needs numbers, not booleans"
    if datatype in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[datatype]
        outside = (np.mod(values, 1) != 0) | (values < low) | (values >= high)
        allowed = f"integers from {low} to {high - 1}"
    else:
        outside = np.abs(values) > _FLOAT_MAX[datatype]
        allowed = f"values within +/-{_FLOAT_MAX[datatype]:.7g}"
    if not outside.any():
        return None
    return f"{datatype} holds {allowed}, got {values[np.argmax(outside)]:.17g}"


def _values(index: int, tensor: InferInput) -> np.ndarray:
    """The tensor's values, flat, once they fit its shape and its datatype."""
    problem = _shape_problem(tensor)
    if problem is not None:
        raise _refuse(index, tensor, "tensor data does not match its shape", problem)
    values = np.asarray(tensor.data, dtype=np.float64).ravel()
    # The body model admits all-number or all-boolean data only, so one value tells which.
    first = tensor.data[0] if tensor.data else None
    first = first[0] if isinstance(first, list) and first else first
    problem = _datatype_problem(tensor, values, isinstance(first, bool))
    if problem is not None:
        raise _refuse(index, tensor, "tensor data does not fit its datatype", problem)
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
