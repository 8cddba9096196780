"""POST /invocations: MLflow's scoring protocol, so `mlflow models serve` clients can switch."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from app.contract.input_matrix import from_records, from_split
from app.contract.mlflow_invocations import InvocationsRequest, InvocationsResponse
from app.http.request_body import require_json
from app.http.scoring_route import Scoring, scoring_route
from app.lifecycle.served_model import ServedModel

router = APIRouter(tags=["mlflow"])


def _json_only(request: Request, _model: ServedModel) -> None:
    require_json(request.headers.get("content-type"))


@scoring_route(
    router,
    "/invocations",
    scope="predict",
    body=InvocationsRequest,
    response=InvocationsResponse,
    preconditions=[_json_only],
)
async def invocations(call: Scoring[InvocationsRequest]) -> InvocationsResponse:
    """MLflow scoring-server formats in, ``{"predictions": [...]}`` out (scope `predict`)."""
    model, table = call.model, call.body.table
    extra = call.state.settings.extra_columns
    if table.records is not None:
        matrix = from_records(table.records, model.columns, extra)
    else:
        # Lists without names are taken in signature order, as MLflow does for tensors.
        columns = table.columns or model.feature_names
        matrix = from_split(columns, table.data or [], model.columns, extra)
    return {"predictions": (await call.score(matrix)).labels.tolist()}
