"""POST /v1/predict: the hot path, kept free of pandas and of MLflow's pyfunc wrapper."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.body import json_body, parse_body, read_capped
from app.direct_route import DirectRoute
from app.errors import REFUSALS
from app.input_contract import to_matrix
from app.responses import FastJSONResponse
from app.schemas import PredictRequest, PredictResponse
from app.service import authorize, check_row_count, current_model, score, state_of

router = APIRouter(tags=["predict"], route_class=DirectRoute)


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
