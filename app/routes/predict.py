"""POST /v1/predict: the hot path, kept free of pandas and of MLflow's pyfunc wrapper."""

from __future__ import annotations

from fastapi import APIRouter

from app.contract.input_matrix import to_matrix
from app.contract.predict import PredictRequest, PredictResponse
from app.http.scoring_route import Scoring, scoring_route
from app.lifecycle.served_model import ServedModel
from app.wiring.state import AppState

router = APIRouter(tags=["predict"])


def _decoded(raw: bytes, model: ServedModel, state: AppState) -> PredictRequest | None:
    """Well-formed records for this model, decoded straight into its matrix; else None."""
    # With extra columns ignored, the general path still checks their values: only it runs.
    if model.records is None or state.settings.extra_columns != "reject":
        return None
    matrix = model.records.decode(raw)
    return None if matrix is None else PredictRequest.from_matrix(matrix)


@scoring_route(
    router,
    "/v1/predict",
    scope="predict",
    body=PredictRequest,
    response=PredictResponse,
    fast_decode=_decoded,
)
async def predict(call: Scoring[PredictRequest]) -> PredictResponse:
    """Predict labels and class probabilities for one or more rows (scope `predict`)."""
    model = call.model
    result = await call.score(
        to_matrix(call.body, model.columns, call.state.settings.extra_columns)
    )
    names = model.class_names
    return {
        "model_name": model.version.name,
        "model_version": model.version.version,
        "request_id": call.request_id,
        "predictions": result.labels.tolist(),
        "probabilities": _by_class(names, result.probabilities.tolist()),
    }


def _by_class(names: list[str], rows: list[list[float]]) -> list[dict[str, float]]:
    """Each row's probabilities keyed by class name."""
    if len(names) == 2:
        # Binary models are the common case: a dict display is four times dict(zip(...)).
        first, second = names
        return [{first: p, second: q} for p, q in rows]
    return [dict(zip(names, row, strict=True)) for row in rows]
