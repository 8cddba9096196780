"""Train: a seeded, stratified split and seeded, reproducible estimators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from tests.training.conftest import SMALL_FEATURES
from training.config import ConfigError, ModelSpec, SplitSpec
from training.ingest import ingest
from training.train import (
    TrainingError,
    features,
    hyper_parameters,
    labels,
    split_dataset,
    train,
)


@pytest.fixture
def split(tmp_path, config):
    frame = ingest(config.dataset.uri, config.dataset.label, tmp_path / "d.csv").frame
    return split_dataset(frame, config.dataset, config.split)


def test_split_is_stratified_and_seeded(split, config):
    assert len(split.holdout) == 143
    assert abs(split.holdout["target"].mean() - split.train["target"].mean()) < 0.02
    frame = pd.concat([split.train, split.holdout]).sort_values("mean_radius", kind="stable")
    frame = frame.reset_index(drop=True)
    again = split_dataset(frame, config.dataset, config.split)
    assert len(again.holdout) == len(split.holdout)
    # The same rows in the same order and the same seed give exactly the same split ...
    same = split_dataset(frame, config.dataset, config.split)
    pd.testing.assert_frame_equal(same.train, again.train)
    pd.testing.assert_frame_equal(same.holdout, again.holdout)
    # ... and the seed, not chance, decides it: another seed holds out other rows.
    other = split_dataset(frame, config.dataset, SplitSpec(test_size=0.25, seed=7))
    assert len(other.holdout) == len(again.holdout)
    assert not other.holdout.equals(again.holdout)
    rows = config.dataset.feature_names
    assert set(map(tuple, other.holdout[rows].to_numpy())) != set(
        map(tuple, again.holdout[rows].to_numpy())
    )


def _fitted_state(pipeline: Pipeline) -> list[np.ndarray]:
    """Every learned array of the pipeline, so two fits can be compared exactly."""
    scaler, model = pipeline.named_steps["scale"], pipeline.named_steps["model"]
    arrays = [scaler.mean_, scaler.scale_]
    if hasattr(model, "coef_"):
        arrays += [model.coef_, model.intercept_]
    for tree in getattr(model, "estimators_", []):
        arrays += [tree.tree_.feature, tree.tree_.threshold, tree.tree_.value]
    for iteration in getattr(model, "_predictors", []):
        arrays += [predictor.nodes for predictor in iteration]
    return arrays


@pytest.mark.parametrize(
    ("kind", "params", "stochastic"),
    [
        ("logistic_regression", {}, False),
        ("random_forest", {"n_estimators": 10}, True),
        ("hist_gradient_boosting", {"max_iter": 20}, False),
    ],
)
def test_the_same_seed_fits_the_same_model(small_frame, small_dataset, kind, params, stochastic):
    spec = ModelSpec(kind=kind, params=params)
    first = train(small_frame, small_dataset, spec, seed=7)
    second = train(small_frame, small_dataset, spec, seed=7)
    first_state, second_state = _fitted_state(first), _fitted_state(second)
    assert len(first_state) == len(second_state) > 2
    for mine, theirs in zip(first_state, second_state, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    probe = np.random.default_rng(1).normal(size=(200, len(small_dataset.feature_names)))
    np.testing.assert_array_equal(first.predict_proba(probe), second.predict_proba(probe))
    if stochastic:
        reseeded = train(small_frame, small_dataset, spec, seed=8)
        assert not np.array_equal(first.predict_proba(probe), reseeded.predict_proba(probe))


def test_an_explicit_random_state_wins_over_the_split_seed(small_frame, small_dataset):
    explicit = ModelSpec(kind="random_forest", params={"n_estimators": 5, "random_state": 3})
    implicit = ModelSpec(kind="random_forest", params={"n_estimators": 5})
    assert train(small_frame, small_dataset, explicit, seed=99)[-1].random_state == 3
    assert train(small_frame, small_dataset, implicit, seed=99)[-1].random_state == 99


def test_features_and_labels_follow_the_contract_order(small_frame, small_dataset):
    shuffled = small_frame[list(reversed(small_frame.columns))]
    matrix = features(shuffled, small_dataset)
    assert matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix, small_frame[small_dataset.feature_names].to_numpy())
    assert labels(shuffled, small_dataset).dtype == np.int64


def test_hyper_parameters_record_every_value(config):
    params = hyper_parameters(config.model, 42)
    assert params["model_kind"] == "logistic_regression"
    assert params["model.C"] == 1.0 and params["model.max_iter"] == 2000


def test_unknown_and_invalid_hyper_parameters_name_the_key(small_frame, small_dataset):
    with pytest.raises(ConfigError, match=r"model\.params has key\(s\) \['depth'\]"):
        train(small_frame, small_dataset, ModelSpec(kind="random_forest", params={"depth": 3}), 1)
    with pytest.raises(ConfigError, match=r"model\.params: .*'C' parameter"):
        train(
            small_frame, small_dataset, ModelSpec(kind="logistic_regression", params={"C": -1}), 1
        )


@pytest.mark.parametrize(
    ("kind", "params", "named"),
    [
        ("logistic_regression", {"l1_ratio": 1.0}, "penalty"),
        ("logistic_regression", {"solver": "liblinear", "l1_ratio": 0.5}, "elasticnet"),
        ("random_forest", {"bootstrap": False, "oob_score": True}, "bootstrap"),
    ],
)
def test_hyper_parameters_that_conflict_are_a_config_error(
    small_frame, small_dataset, kind, params, named
):
    # Each value is valid alone, so scikit-learn only objects inside fit() with a plain
    # ValueError: this used to escape as a raw traceback with exit 1 instead of exit 2.
    with pytest.raises(ConfigError, match=rf"model\.params: .*{named}"):
        train(small_frame, small_dataset, ModelSpec(kind=kind, params=params), seed=0)


def test_a_fit_failure_on_valid_parameters_is_one_line_training_error(small_dataset):
    # Data that slips past validation must still fail with one line, not a traceback.
    frame = pd.DataFrame({name: [0.0, 1.0] * 3 for name in SMALL_FEATURES})
    frame["target"] = [0, 0, 0, 0, 0, 0]
    with pytest.raises(TrainingError, match=r"^training logistic_regression failed: [^\n]*$"):
        train(frame, small_dataset, ModelSpec(kind="logistic_regression"), seed=0)
