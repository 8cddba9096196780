from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.config import ConfigError, ModelSpec
from training.evaluate import plot_confusion_matrix, score
from training.ingest import ingest
from training.train import features, hyper_parameters, split_dataset, train


@pytest.fixture
def split(tmp_path, config):
    frame = ingest(config.dataset.uri, config.dataset.label, tmp_path / "d.csv").frame
    return split_dataset(frame, config.dataset, config.split)


def test_split_is_stratified_and_seeded(split, config):
    assert len(split.holdout) == 143
    assert abs(split.holdout["target"].mean() - split.train["target"].mean()) < 0.02
    frame = pd.concat([split.train, split.holdout]).sort_values("mean_radius", kind="stable")
    again = split_dataset(frame.reset_index(drop=True), config.dataset, config.split)
    assert len(again.holdout) == len(split.holdout)


@pytest.mark.parametrize("kind", ["logistic_regression", "random_forest", "hist_gradient_boosting"])
def test_training_is_reproducible(split, config, kind):
    params = {"n_estimators": 20} if kind == "random_forest" else {}
    spec = ModelSpec(kind=kind, params=params)
    first = train(split.train, config.dataset, spec, seed=7)
    second = train(split.train, config.dataset, spec, seed=7)
    x = features(split.holdout, config.dataset)
    np.testing.assert_array_equal(first.predict_proba(x), second.predict_proba(x))


def test_default_model_is_good_and_metrics_are_complete(split, config, tmp_path):
    model = train(split.train, config.dataset, config.model, config.split.seed)
    metrics = score(model, split.holdout, config.dataset)
    assert set(metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"}
    assert metrics["roc_auc"] > 0.97
    png = plot_confusion_matrix(model, split.holdout, config.dataset, tmp_path / "cm.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hyper_parameters_record_every_value(config):
    params = hyper_parameters(config.model, 42)
    assert params["model_kind"] == "logistic_regression"
    assert params["model.C"] == 1.0 and params["model.max_iter"] == 2000


def test_unknown_and_invalid_hyper_parameters_name_the_key(split, config):
    with pytest.raises(ConfigError, match=r"model\.params has key\(s\) \['depth'\]"):
        train(split.train, config.dataset, ModelSpec(kind="random_forest", params={"depth": 3}), 1)
    with pytest.raises(ConfigError, match=r"model\.params: .*'C' parameter"):
        train(
            split.train, config.dataset, ModelSpec(kind="logistic_regression", params={"C": -1}), 1
        )
