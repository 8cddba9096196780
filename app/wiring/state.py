"""What the factory builds once per app and every route reads: settings, access, models, metrics."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from starlette.requests import Request

from app.contract.input_matrix import MAX_REPORTED
from app.http.auth import AccessControl
from app.http.errors import ApiError, ErrorDetail
from app.lifecycle.batching import Arrival, MicroBatcher, ScoringOverloadError
from app.lifecycle.model_swapper import ModelSwapper
from app.lifecycle.scoring import NonFiniteOutputError, record
from app.lifecycle.served_model import Prediction, ServedModel
from app.lifecycle.shadow import ShadowScorer
from app.metrics import ApiMetrics
from app.wiring.settings import ApiSettings


@dataclass(frozen=True)
class AppState:
    settings: ApiSettings
    metrics: ApiMetrics
    access: AccessControl
    swapper: ModelSwapper
    shadow: ShadowScorer | None
    batcher: MicroBatcher
    draining: threading.Event = field(default_factory=threading.Event)

    async def score(
        self,
        model: ServedModel,
        matrix: np.ndarray,
        prefix: str = "rows",
        arrival: Arrival | None = None,
    ) -> Prediction:
        """Predict with ``model`` (batched on the scoring thread) and record it in the metrics,
        the drift window and shadow.

        Rows whose probabilities are not finite are refused, and nothing is recorded for them.
        """
        try:
            result = await self.batcher.submit(model, matrix, arrival)
        except ScoringOverloadError:
            self.metrics.scoring_overloaded.inc()
            raise ApiError(
                503,
                "overloaded",
                "the model is busy; retry shortly",
                headers={"Retry-After": "1"},
            ) from None
        try:
            return record(model, matrix, result, self.metrics, self.swapper.drift, self.shadow)
        except NonFiniteOutputError as exc:
            details = [
                ErrorDetail(field=f"{prefix}[{i}]", message="the model cannot score this row")
                for i in exc.rows[:MAX_REPORTED]
            ]
            raise ApiError(
                422, "unscorable_input", "the model gave no finite answer", details
            ) from None


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.mlsys
    return state
