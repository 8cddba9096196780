"""The compiled predictor is exact where it is used and never used where it is not."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from app.lifecycle.compiled_model import compile_model


def _check(estimator, x, engine):
    compiled = compile_model(estimator, x[:5])
    assert compiled.engine == engine
    np.testing.assert_allclose(compiled.predict_proba(x), estimator.predict_proba(x), rtol=1e-9)
    labels = compiled.classes[np.argmax(compiled.predict_proba(x), axis=1)]
    np.testing.assert_array_equal(labels, estimator.predict(x))


@pytest.mark.parametrize(
    "steps",
    [
        [("m", LogisticRegression(max_iter=500))],
        [("s", StandardScaler()), ("m", LogisticRegression(C=0.3, max_iter=500))],
        [("s", StandardScaler(with_mean=False)), ("m", LogisticRegression(max_iter=500))],
        [("a", StandardScaler()), ("b", StandardScaler()), ("m", LogisticRegression())],
    ],
)
def test_binary_linear_pipelines_compile_exactly(steps):
    x, y = make_classification(n_samples=300, n_features=8, random_state=0)
    _check(Pipeline(steps).fit(x, y), x, "numpy-linear")


def test_multiclass_logistic_regression_compiles_to_softmax():
    x, y = load_iris(return_X_y=True)
    _check(
        Pipeline([("s", StandardScaler()), ("m", LogisticRegression(max_iter=1000))]).fit(x, y),
        x,
        "numpy-linear",
    )


@pytest.mark.parametrize(
    "estimator",
    [
        RandomForestClassifier(n_estimators=5, random_state=0),
        Pipeline([("s", MinMaxScaler()), ("m", LogisticRegression())]),
    ],
)
def test_anything_else_is_served_by_scikit_learn_itself(estimator):
    x, y = make_classification(n_samples=200, n_features=6, random_state=1)
    _check(estimator.fit(x, y), x, "sklearn")
