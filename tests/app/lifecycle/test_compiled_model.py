"""The compiled predictor is exact where it is used and never used where it is not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_iris, make_classification
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import app.lifecycle.compiled_model as compiled_model
from app.contract.input_bounds import DEFAULT_MARGIN, feature_bounds
from app.lifecycle.compiled_model import compile_model
from app.model_contract import build_reference
from tests.app.conftest import fit


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
        ExtraTreesClassifier(n_estimators=5, random_state=0),
        Pipeline([("s", MinMaxScaler()), ("m", LogisticRegression())]),
    ],
)
def test_anything_else_is_served_by_scikit_learn_itself(estimator):
    x, y = make_classification(n_samples=200, n_features=6, random_state=1)
    _check(estimator.fit(x, y), x, "sklearn")


@pytest.mark.parametrize(
    "estimator",
    [
        RandomForestClassifier(n_estimators=5, random_state=0),
        Pipeline([("s", StandardScaler()), ("m", RandomForestClassifier(n_estimators=5))]),
        Pipeline([("s", StandardScaler()), ("m", HistGradientBoostingClassifier(max_iter=5))]),
    ],
)
def test_the_pipelines_tree_ensembles_compile_to_identical_numpy(estimator):
    x, y = make_classification(n_samples=200, n_features=6, random_state=1)
    estimator.fit(x, y)
    compiled = compile_model(estimator, x[:5])
    assert compiled.engine == "numpy-trees"
    np.testing.assert_array_equal(compiled.predict_proba(x), estimator.predict_proba(x))


# The fast path and the estimator agree on every input the contract accepts (issue 8, part 4).


@pytest.fixture(scope="module")
def demo(dataset):
    """The demo model (scaler + logistic regression), compiled with its default bounds."""
    estimator = fit(dataset)
    bounds = feature_bounds(build_reference(dataset.train, dataset.names), DEFAULT_MARGIN)
    assert bounds is not None
    compiled = compile_model(estimator, dataset.train[:5], bounds)
    assert compiled.engine == "numpy-linear"
    return estimator, compiled, bounds


def _accepted_rows(low: np.ndarray, high: np.ndarray) -> st.SearchStrategy[np.ndarray]:
    """Rows of 1 to 8 values per feature anywhere in its bounds, the edges drawn often."""
    cells = [
        st.one_of(st.sampled_from([lo, hi]), st.floats(lo, hi, allow_nan=False))
        for lo, hi in zip(low.tolist(), high.tolist(), strict=True)
    ]
    return st.lists(st.tuples(*cells), min_size=1, max_size=8).map(np.array)


def test_compiled_and_scikit_learn_agree_everywhere_within_the_bounds(demo):
    estimator, compiled, (low, high) = demo

    @settings(max_examples=150, deadline=None, database=None)
    @given(rows=_accepted_rows(low, high))
    def agree(rows: np.ndarray) -> None:
        assert np.all(rows >= low) and np.all(rows <= high)
        fast = compiled.predict_proba(rows)
        expected = estimator.predict_proba(rows)
        assert np.all(np.isfinite(fast))
        np.testing.assert_allclose(fast, expected, rtol=1e-9, atol=1e-12)

    agree()


def test_the_corners_of_the_bounds_agree_exactly_enough(demo):
    estimator, compiled, (low, high) = demo
    corners = np.where(np.random.default_rng(1).integers(0, 2, (256, len(low))), high, low)
    rows = np.vstack([low, high, corners])
    np.testing.assert_allclose(
        compiled.predict_proba(rows), estimator.predict_proba(rows), rtol=1e-9, atol=1e-12
    )


def test_a_compiled_form_wrong_only_near_the_bounds_is_not_used(monkeypatch, demo, dataset):
    estimator, _compiled, bounds = demo
    exact = compiled_model._linear(estimator)

    def clipped(_estimator):
        # Exact around the training data, wrong once a value is far out (as an overflow
        # or a float32 shortcut would be); only the probes on the bounds can tell.
        return lambda x: exact(np.clip(x, -1e4, 1e4))

    monkeypatch.setattr(compiled_model, "_linear", clipped)
    assert compile_model(estimator, dataset.train[:5]).engine == "numpy-linear"
    assert compile_model(estimator, dataset.train[:5], bounds).engine == "sklearn"
