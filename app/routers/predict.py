"""POST /v1/predict: the hot path, kept free of pandas and of MLflow's pyfunc wrapper."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from app.body import read_capped
from app.deps import MetricsDep, ModelDep, SettingsDep
from app.errors import ApiError, ErrorResponse, validation_details
from app.input_contract import to_matrix
from app.responses import FastJSONResponse
from app.schemas import PredictRequest, PredictResponse

router = APIRouter(tags=["predict"])

_REFUSALS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Body is not valid JSON.",
        413: "Body or row count over the configured limit.",
        422: "Input does not match the model signature.",
        503: "No model loaded yet.",
    }.items()
}


def parse_predict_request(body: bytes) -> PredictRequest:
    """Validate the raw JSON in one pass (pydantic's Rust parser, no intermediate dicts)."""
    try:
        return PredictRequest.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise ApiError(400, "invalid_json", "request body is not valid JSON") from None
        raise ApiError(
            422, "invalid_request", "request failed validation", validation_details(errors)
        ) from None


@router.post(
    "/v1/predict",
    response_model=PredictResponse,
    responses=_REFUSALS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
        }
    },
)
async def predict(
    request: Request, model: ModelDep, settings: SettingsDep, metrics: MetricsDep
) -> FastJSONResponse:
    """Predict labels (and class probabilities) for one or more rows."""
    body = await read_capped(request, settings.max_body_bytes)
    parsed = parse_predict_request(body)
    if parsed.row_count == 0:
        raise ApiError(422, "invalid_input", "send at least one row")
    if parsed.row_count > settings.max_rows:
        raise ApiError(
            413, "too_many_rows", f"{parsed.row_count} rows exceed the limit of {settings.max_rows}"
        )
    matrix = to_matrix(parsed, model.columns, settings.extra_columns)
    result = model.predict(matrix)
    version = model.version.version
    metrics.rows.observe(len(result.labels))
    for label in result.labels:
        metrics.predictions.labels(version, str(label)).inc()
    return FastJSONResponse(
        {
            "model_name": model.version.name,
            "model_version": version,
            "request_id": getattr(request.state, "request_id", None),
            "predictions": result.labels,
            "probabilities": result.probabilities,
        }
    )
