"""The numpy forms of the tree ensembles reproduce scikit-learn bit for bit, or are not built."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from app.lifecycle.compiled_trees import compile_trees
from tests.app.conftest import Dataset


def _steps(pipeline: Pipeline) -> list[Any]:
    return [step for _, step in pipeline.steps]


def _probe(dataset: Dataset) -> np.ndarray:
    """Holdout rows, random rows far around them, and the same with missing values."""
    rng = np.random.default_rng(1)
    spread = np.abs(dataset.train).mean(axis=0) + 1.0
    far = dataset.train.mean(axis=0) + rng.normal(size=(200, dataset.train.shape[1])) * spread
    rows = np.vstack([dataset.holdout, far])
    missing = rows.copy()
    missing[rng.random(rows.shape) < 0.1] = np.nan
    return np.vstack([rows, missing])


ESTIMATORS = {
    "random_forest": lambda: RandomForestClassifier(n_estimators=30, random_state=0),
    "shallow_forest": lambda: RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0),
    "boosting": lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0),
    "boosting_with_scaler_off": lambda: HistGradientBoostingClassifier(max_iter=5),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_probabilities_are_identical_to_scikit_learn(name: str, dataset: Dataset) -> None:
    scaler = StandardScaler(with_mean=name != "boosting_with_scaler_off")
    pipeline = Pipeline([("scale", scaler), ("model", ESTIMATORS[name]())])
    pipeline.fit(dataset.train, dataset.train_labels)
    compiled = compile_trees(_steps(pipeline))
    assert compiled is not None
    probe = _probe(dataset)
    np.testing.assert_array_equal(compiled(probe), pipeline.predict_proba(probe))
    for size in (1, 2, 7):  # the row count does not change a row's answer
        np.testing.assert_array_equal(compiled(probe[:size]), pipeline.predict_proba(probe[:size]))


def test_missing_values_learned_in_training_take_their_side(dataset: Dataset) -> None:
    train = dataset.train.copy()
    train[np.random.default_rng(2).random(train.shape) < 0.2] = np.nan
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(
        train, dataset.train_labels
    )
    compiled = compile_trees([forest])
    assert compiled is not None
    probe = _probe(dataset)
    np.testing.assert_array_equal(compiled(probe), forest.predict_proba(probe))


@pytest.mark.parametrize(
    "pipeline",
    [
        Pipeline([("scale", MinMaxScaler()), ("model", RandomForestClassifier(n_estimators=2))]),
        Pipeline([("model", ExtraTreesClassifier(n_estimators=2))]),
    ],
    ids=["other scaler", "other ensemble"],
)
def test_anything_else_is_left_to_scikit_learn(pipeline: Pipeline, dataset: Dataset) -> None:
    pipeline.fit(dataset.train, dataset.train_labels)
    assert compile_trees(_steps(pipeline)) is None


def test_multiclass_boosting_is_left_to_scikit_learn(dataset: Dataset) -> None:
    labels = np.arange(len(dataset.train_labels)) % 3
    model = HistGradientBoostingClassifier(max_iter=3).fit(dataset.train, labels)
    assert compile_trees([model]) is None
