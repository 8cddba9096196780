"""What the factory builds once per app and every route reads: settings, access, models, metrics."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from starlette.requests import Request

from app.http.auth import AccessControl
from app.lifecycle.model_swapper import ModelSwapper
from app.lifecycle.scoring import score
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
    draining: threading.Event = field(default_factory=threading.Event)

    def score(self, model: ServedModel, matrix: np.ndarray) -> Prediction:
        """Predict with ``model`` and record it in the metrics, the drift window and shadow."""
        return score(model, matrix, self.metrics, self.swapper.drift, self.shadow)


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.mlsys
    return state
