"""POST /invocations: MLflow's scoring protocol, so `mlflow models serve` clients can switch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.body import json_body, parse_body, read_capped
from app.direct_route import DirectRoute
from app.errors import REFUSALS, ApiError
from app.input_contract import from_records, from_split
from app.responses import FastJSONResponse
from app.schemas import Number
from app.service import authorize, check_row_count, current_model, score, state_of

router = APIRouter(tags=["mlflow"], route_class=DirectRoute)


class DataframeSplit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    columns: list[str]
    data: list[list[Number]]
    index: list[Any] | None = None


class InvocationsRequest(BaseModel):
    """Exactly one of MLflow's four input formats, plus optional (unused) ``params``."""

    model_config = ConfigDict(extra="forbid")
    dataframe_split: DataframeSplit | None = None
    dataframe_records: list[dict[str, Number]] | None = None
    instances: list[dict[str, Number]] | list[list[Number]] | None = None
    inputs: dict[str, list[Number]] | list[dict[str, Number]] | list[list[Number]] | None = None
    params: dict[str, Any] | None = Field(default=None, description="Accepted and ignored.")

    @model_validator(mode="after")
    def _one_format(self) -> InvocationsRequest:
        given = [
            name
            for name in ("dataframe_split", "dataframe_records", "instances", "inputs")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "send exactly one of dataframe_split, dataframe_records, instances, inputs"
            )
        return self


def _rows(payload: InvocationsRequest) -> tuple[list[dict[str, float]] | None, Any]:
    """Records, or (columns, data) for the split and positional layouts."""
    if payload.dataframe_split is not None:
        return None, (payload.dataframe_split.columns, payload.dataframe_split.data)
    value: Any = next(
        v for v in (payload.dataframe_records, payload.instances, payload.inputs) if v is not None
    )
    if isinstance(value, dict):  # {"inputs": {"col": [values...]}} is column-major
        columns = list(value)
        lengths = {len(v) for v in value.values()}
        if len(lengths) > 1:
            raise ApiError(422, "invalid_input", "every column in 'inputs' needs the same length")
        return None, (columns, [list(row) for row in zip(*value.values(), strict=True)])
    if value and isinstance(value[0], list):
        return None, (None, value)
    return value, None


@router.post("/invocations", responses=REFUSALS, openapi_extra=json_body(InvocationsRequest))
async def invocations(request: Request) -> FastJSONResponse:
    """MLflow scoring-server formats in, ``{"predictions": [...]}`` out (scope `predict`)."""
    state = state_of(request)
    authorize(request, state, "predict")
    model = current_model(state)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
    payload = parse_body(
        InvocationsRequest, await read_capped(request, state.settings.max_body_bytes)
    )
    records, split = _rows(payload)
    extra = state.settings.extra_columns
    if records is not None:
        check_row_count(state, len(records))
        matrix = from_records(records, model.columns, extra)
    else:
        columns, data = split
        check_row_count(state, len(data))
        # Lists without names are taken in signature order, as MLflow does for tensors.
        matrix = from_split(columns or model.feature_names, data, model.columns, extra)
    return FastJSONResponse({"predictions": score(state, model, matrix).labels.tolist()})
