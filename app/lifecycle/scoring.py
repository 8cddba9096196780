"""Scoring with the served snapshot, recording what was predicted for metrics, drift and shadow."""

from __future__ import annotations

import logging
import math

import numpy as np

from app.lifecycle.drift import DriftWindow
from app.lifecycle.served_model import Prediction, ServedModel
from app.lifecycle.shadow import ShadowScorer
from app.metrics import ApiMetrics

log = logging.getLogger("mlsys.api.model")


class NonFiniteOutputError(ValueError):
    """The model answered NaN or infinity for some rows; nothing was recorded."""

    def __init__(self, rows: list[int]) -> None:
        super().__init__(f"non-finite probabilities for {len(rows)} row(s)")
        self.rows = rows


def score(
    model: ServedModel,
    matrix: np.ndarray,
    metrics: ApiMetrics,
    drift: DriftWindow | None,
    shadow: ShadowScorer | None,
) -> Prediction:
    """Predict and record; shadow and drift work stays off the hot path (O(1) hand-offs)."""
    return record(model, matrix, model.predict(matrix), metrics, drift, shadow)


def record(
    model: ServedModel,
    matrix: np.ndarray,
    result: Prediction,
    metrics: ApiMetrics,
    drift: DriftWindow | None,
    shadow: ShadowScorer | None,
) -> Prediction:
    """Refuse a non-finite answer, else count it and hand the rows to drift and shadow."""
    # Probabilities are in [0, 1], so their sum is finite exactly when every one is: one
    # reduction on the hot path. A NaN must never reach a client or a metric sum. The input
    # bounds should make this impossible, so it is counted and logged as a model defect.
    if not math.isfinite(result.probabilities.sum()):
        bad = np.flatnonzero(~np.isfinite(result.probabilities).all(axis=1)).tolist()
        metrics.non_finite_outputs.labels(model.version.version).inc()
        log.error(
            "model answered non-finite probabilities for accepted input",
            extra={
                "version": model.version.version,
                "engine": model.compiled.engine,
                "rows": len(bad),
            },
        )
        raise NonFiniteOutputError(bad)
    metrics.rows.observe(len(matrix))
    version = model.version.version
    counts = np.bincount(result.class_index, minlength=len(model.class_names)).tolist()
    for name, count in zip(model.class_names, counts, strict=True):
        if count:
            metrics.predictions.labels(version, name).inc(count)
    # The predicted class is the most probable one: its probability is the row's maximum.
    metrics.scores.observe_many(result.probabilities.max(axis=1))
    if drift is not None:
        drift.add(matrix)
    if shadow is not None:
        shadow.offer(matrix, result.labels)
    return result
