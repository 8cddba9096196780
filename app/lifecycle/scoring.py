"""Scoring with the served snapshot, recording what was predicted for metrics, drift and shadow."""

from __future__ import annotations

import numpy as np

from app.lifecycle.drift import DriftWindow
from app.lifecycle.served_model import Prediction, ServedModel
from app.lifecycle.shadow import ShadowScorer
from app.metrics import ApiMetrics


def score(
    model: ServedModel,
    matrix: np.ndarray,
    metrics: ApiMetrics,
    drift: DriftWindow | None,
    shadow: ShadowScorer | None,
) -> Prediction:
    """Predict and record; shadow and drift work stays off the hot path (O(1) hand-offs)."""
    result = model.predict(matrix)
    metrics.rows.observe(len(matrix))
    version = model.version.version
    counts = np.bincount(result.class_index, minlength=len(model.class_names)).tolist()
    for name, count in zip(model.class_names, counts, strict=True):
        if count:
            metrics.predictions.labels(version, name).inc(count)
    metrics.scores.observe_many(result.probabilities[np.arange(len(matrix)), result.class_index])
    if drift is not None:
        drift.add(matrix)
    if shadow is not None:
        shadow.offer(matrix, result.labels)
    return result
