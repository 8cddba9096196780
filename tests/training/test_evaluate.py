"""Evaluate: holdout metrics and the confusion-matrix plot."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from training.config import ModelSpec
from training.evaluate import plot_confusion_matrix, score
from training.ingest import ingest
from training.train import split_dataset, train

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
METRICS = {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"}


def test_binary_metrics_match_scikit_learn(small_model, small_frame, small_dataset):
    result = score(small_model, small_frame, small_dataset)
    assert set(result) == METRICS
    x = small_frame[small_dataset.feature_names].to_numpy()
    y = small_frame["target"].to_numpy()
    assert result["accuracy"] == pytest.approx(metrics.accuracy_score(y, small_model.predict(x)))
    assert result["roc_auc"] == pytest.approx(
        metrics.roc_auc_score(y, small_model.predict_proba(x)[:, 1])
    )
    assert all(0.0 <= result[name] <= 1.0 for name in METRICS - {"log_loss"})
    assert result["log_loss"] > 0.0
    assert 0.6 < result["accuracy"] < 1.0  # learnable, and not a suspiciously perfect score


def test_multiclass_metrics_are_macro_averaged(small_frame, small_dataset):
    three = small_dataset.model_copy(update={"classes": [0, 1, 2]})
    frame = small_frame.copy()
    frame["target"] = np.digitize(frame["f0"], [-0.5, 0.5])
    model = train(frame, three, ModelSpec(kind="logistic_regression"), seed=0)
    result = score(model, frame, three)
    assert set(result) == METRICS
    y = frame["target"].to_numpy()
    predicted = model.predict(frame[three.feature_names].to_numpy())
    assert result["f1"] == pytest.approx(metrics.f1_score(y, predicted, average="macro"))


def test_confusion_matrix_is_written_as_png(small_model, small_frame, small_dataset, tmp_path):
    png = plot_confusion_matrix(
        small_model, small_frame, small_dataset, tmp_path / "nested" / "cm.png"
    )
    assert png == tmp_path / "nested" / "cm.png"
    assert png.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.slow
def test_default_model_is_good_and_metrics_are_complete(config, tmp_path):
    frame = ingest(config.dataset.uri, config.dataset.label, tmp_path / "d.csv").frame
    split = split_dataset(frame, config.dataset, config.split)
    model = train(split.train, config.dataset, config.model, config.split.seed)
    result = score(model, split.holdout, config.dataset)
    assert set(result) == METRICS
    assert result["roc_auc"] > 0.97
    png = plot_confusion_matrix(model, split.holdout, config.dataset, tmp_path / "cm.png")
    assert png.read_bytes()[:8] == PNG_MAGIC
