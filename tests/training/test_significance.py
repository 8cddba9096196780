"""Holdout statistics: weighted metrics equal scikit-learn's, intervals and paired tests."""

from __future__ import annotations

import numpy as np
import pytest

from training.config import ModelSpec
from training.evaluate import score
from training.significance import (
    Predictions,
    mcnemar,
    metric_intervals,
    paired_bootstrap,
    resample_weights,
    weighted_metrics,
)
from training.train import features, labels, train


def _predictions(model, frame, dataset) -> Predictions:
    x, y = features(frame, dataset), labels(frame, dataset)
    return Predictions.of(model, x, y, dataset.classes)


def test_unit_weights_give_scikit_learns_metrics(small_model, small_frame, small_dataset):
    plain = weighted_metrics(
        _predictions(small_model, small_frame, small_dataset), np.ones((1, len(small_frame)))
    )
    expected = score(small_model, small_frame, small_dataset)
    assert {name: float(values[0]) for name, values in plain.items()} == pytest.approx(expected)


def test_multiclass_metrics_match_too(small_frame, small_dataset):
    three = small_dataset.model_copy(update={"classes": [0, 1, 2]})
    frame = small_frame.assign(target=np.digitize(small_frame["f0"], [-0.5, 0.5]))
    model = train(frame, three, ModelSpec(kind="logistic_regression"), seed=0)
    plain = weighted_metrics(_predictions(model, frame, three), np.ones((1, len(frame))))
    expected = score(model, frame, three)
    assert {name: float(values[0]) for name, values in plain.items()} == pytest.approx(expected)


def test_intervals_contain_the_point_and_repeat(small_model, small_frame, small_dataset):
    p = _predictions(small_model, small_frame, small_dataset)
    weights = resample_weights(len(small_frame), 500, seed=0)
    intervals = metric_intervals(p, weights, 0.95)
    point = score(small_model, small_frame, small_dataset)
    for name, (low, high) in intervals.items():
        assert low <= point[name] <= high and low < high
    assert metric_intervals(p, resample_weights(len(small_frame), 500, seed=0), 0.95) == intervals


def test_a_model_against_itself_shows_no_difference(small_model, small_frame, small_dataset):
    p = _predictions(small_model, small_frame, small_dataset)
    weights = resample_weights(len(small_frame), 200, seed=1)
    for metric in ("roc_auc", "log_loss"):
        same = paired_bootstrap(p, p, metric, weights, confidence=0.95, tolerance=0.0)
        assert (same.improvement, same.low, same.high, same.regressed) == (0.0, 0.0, 0.0, False)
    assert not mcnemar(p, p, confidence=0.95, tolerance=0.0).regressed


def test_log_loss_differences_are_signed_so_lower_is_better(
    small_model, small_frame, small_dataset
):
    good = _predictions(small_model, small_frame, small_dataset)
    blurred = Predictions(good.y, good.predicted, 0.5 + (good.proba - 0.5) * 0.2, good.classes)
    weights = resample_weights(len(small_frame), 300, seed=2)
    worse = paired_bootstrap(blurred, good, "log_loss", weights, confidence=0.95, tolerance=0.01)
    assert worse.improvement < 0 and worse.regressed
    better = paired_bootstrap(good, blurred, "log_loss", weights, confidence=0.95, tolerance=0.01)
    assert better.improvement > 0 and not better.regressed
