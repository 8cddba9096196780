"""POST /v1/predict: the hot path, kept free of pandas and of MLflow's pyfunc wrapper."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError

from app.body import read_capped
from app.direct_route import DirectRoute
from app.errors import ApiError, ErrorResponse, validation_details
from app.input_contract import to_matrix
from app.responses import FastJSONResponse
from app.schemas import PredictRequest, PredictResponse
from app.service import authorize, check_row_count, current_model, score, state_of

router = APIRouter(tags=["predict"], route_class=DirectRoute)
ModelT = TypeVar("ModelT", bound=BaseModel)

REFUSALS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Body is not valid JSON.",
        401: "Missing or unknown API key.",
        403: "The key lacks the scope.",
        413: "Body or row count over the configured limit.",
        422: "Input does not match the model signature.",
        429: "Rate limit for this key exceeded (see Retry-After).",
        503: "No model loaded yet.",
    }.items()
}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI request body for a handler that validates raw bytes itself."""
    schema = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": True, "content": schema}}


def parse_body(model: type[ModelT], body: bytes) -> ModelT:
    """Validate the raw JSON in one pass (pydantic's Rust parser, no intermediate dicts)."""
    try:
        return model.model_validate_json(body)
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
    responses=REFUSALS,
    openapi_extra=json_body(PredictRequest),
)
async def predict(request: Request) -> FastJSONResponse:
    """Predict labels and class probabilities for one or more rows (scope `predict`)."""
    state = state_of(request)
    authorize(request, state, "predict")
    model = current_model(state)
    parsed = parse_body(PredictRequest, await read_capped(request, state.settings.max_body_bytes))
    check_row_count(state, parsed.row_count)
    result = score(state, model, to_matrix(parsed, model.columns, state.settings.extra_columns))
    names = model.class_names
    return FastJSONResponse(
        {
            "model_name": model.version.name,
            "model_version": model.version.version,
            "request_id": request.scope["state"].get("request_id"),
            "predictions": result.labels.tolist(),
            "probabilities": [
                dict(zip(names, row, strict=True)) for row in result.probabilities.tolist()
            ],
        }
    )
