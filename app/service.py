"""What every model route shares: the app's state, authorisation and scoring with metrics."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from starlette.requests import Request

from app.auth import ANONYMOUS, ApiKey, KeyStore, presented_key
from app.errors import ApiError
from app.metrics import ApiMetrics
from app.model_manager import ModelManager
from app.model_runtime import LoadedModel, Prediction
from app.rate_limit import RateLimiter, retry_after_header
from app.settings import ApiSettings
from app.shadow import ShadowScorer


@dataclass(frozen=True)
class AppState:
    settings: ApiSettings
    metrics: ApiMetrics
    manager: ModelManager
    keys: KeyStore | None
    limiter: RateLimiter
    shadow: ShadowScorer | None
    draining: threading.Event = field(default_factory=threading.Event)


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.mlsys
    return state


def authorize(request: Request, state: AppState, scope: str) -> ApiKey:
    """401 without a known key, 403 without the scope, 429 past the key's rate."""
    if state.keys is None:
        key = ANONYMOUS
    else:
        headers = request.headers
        presented = presented_key(headers.get("authorization"), headers.get("x-api-key"))
        found = state.keys.lookup(presented) if presented else None
        if found is None:
            reason = "missing" if presented is None else "unknown"
            state.metrics.auth_refused.labels(reason).inc()
            raise ApiError(
                401,
                "unauthenticated",
                "send a valid API key as 'Authorization: Bearer <key>' or 'X-API-Key'",
                headers={"WWW-Authenticate": 'Bearer realm="mlsys"'},
            )
        key = found
    request.scope.setdefault("state", {})["key_id"] = key.key_id
    if scope not in key.scopes:
        state.metrics.auth_refused.labels("scope").inc()
        raise ApiError(403, "forbidden", f"this key lacks the '{scope}' scope")
    wait = state.limiter.take(key.key_id)
    if wait > 0:
        state.metrics.rate_limited.labels(key.key_id).inc()
        raise ApiError(
            429,
            "rate_limited",
            "too many requests for this key",
            headers={"Retry-After": retry_after_header(wait)},
        )
    return key


def ready_model(state: AppState) -> LoadedModel:
    """For readiness probes: 503 while draining for shutdown, as well as before a model."""
    if state.draining.is_set():
        raise ApiError(503, "draining", "shutting down; send new requests elsewhere")
    return current_model(state)


def current_model(state: AppState) -> LoadedModel:
    model = state.manager.current
    if model is None:
        raise ApiError(
            503,
            "model_not_ready",
            "no model is loaded yet; retry shortly",
            headers={"Retry-After": "5"},
        )
    return model


def check_row_count(state: AppState, rows: int) -> None:
    if rows == 0:
        raise ApiError(422, "invalid_input", "send at least one row")
    if rows > state.settings.max_rows:
        raise ApiError(
            413, "too_many_rows", f"{rows} rows exceed the limit of {state.settings.max_rows}"
        )


def score(state: AppState, model: LoadedModel, matrix: np.ndarray) -> Prediction:
    """Predict and record what was predicted; shadow and drift work stays off the hot path."""
    result = model.predict(matrix)
    metrics = state.metrics
    metrics.rows.observe(len(matrix))
    version = model.version.version
    counts = np.bincount(result.class_index, minlength=len(model.class_names)).tolist()
    for name, count in zip(model.class_names, counts, strict=True):
        if count:
            metrics.predictions.labels(version, name).inc(count)
    metrics.scores.observe_many(result.probabilities[np.arange(len(matrix)), result.class_index])
    drift = state.manager.drift
    if drift is not None:
        drift.add(matrix)
    if state.shadow is not None:
        state.shadow.offer(matrix, result.labels)
    return result
