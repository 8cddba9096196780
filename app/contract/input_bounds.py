"""Input bounds: the range of each feature the served model accepts, from its training range."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final, Literal

import numpy as np

from app.model_contract import FLOAT32_MAX, InputColumn, training_range

# How far past the training extremes a value may go, in units of the feature's scale: the
# larger of its training range and its largest training magnitude (1 for an all-zero
# feature). With 10, breast-cancer's mean_area (143.5 to 2501 in training) accepts -24866.5 to
# 27511: data like the training data never lands outside, while unit mix-ups, sentinels like
# 1e30 and values built to overflow the model do. The magnitude term keeps a narrow or
# constant feature (a year column, a flag that was always 0) from being bounded tightly.
DEFAULT_MARGIN: Final = 10.0


def feature_bounds(
    reference: dict[str, Any] | None, margin: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Per feature, the lowest and highest accepted value; None without a training range."""
    observed = training_range(reference)
    if observed is None:
        return None
    low, high = observed
    scale = np.maximum.reduce([high - low, np.abs(low), np.abs(high), np.ones_like(low)])
    with np.errstate(over="ignore"):  # a huge training value widens to infinity, then clips
        return (
            np.clip(low - margin * scale, -FLOAT32_MAX, FLOAT32_MAX),
            np.clip(high + margin * scale, -FLOAT32_MAX, FLOAT32_MAX),
        )


def bounded_columns(
    columns: list[InputColumn], reference: dict[str, Any] | None, margin: float | Literal["off"]
) -> tuple[list[InputColumn], bool]:
    """``columns`` with the bounds ``margin`` gives ("off": float32-finite only), and whether
    they come from the training range (False when the statistics lack it)."""
    bounds = feature_bounds(reference, margin) if margin != "off" else None
    if bounds is None or len(bounds[0]) != len(columns):
        return [replace(c, low=-FLOAT32_MAX, high=FLOAT32_MAX) for c in columns], False
    return [
        replace(c, low=float(lo), high=float(hi))
        for c, lo, hi in zip(columns, bounds[0].tolist(), bounds[1].tolist(), strict=True)
    ], True
