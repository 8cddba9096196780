"""Tree structure checks: every tree of every tree-based estimator, before any prediction."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from app.lifecycle.tree_checks import TreeStructureError, check_tree_structures
from tests.app.crafted_models import CRAFTED_CHILD, crafted_forest, tamper_tree, tamper_values

X = np.random.default_rng(0).normal(size=(120, 4))
Y = (X[:, 0] + X[:, 1] > 0).astype(int)


def _fitted(kind: str):
    return {
        "tree": lambda: DecisionTreeClassifier(max_depth=3, random_state=0),
        "forest": lambda: RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
        "extra": lambda: ExtraTreesClassifier(n_estimators=3, max_depth=3, random_state=0),
        "boosting": lambda: GradientBoostingClassifier(n_estimators=3, max_depth=2),
        "hist": lambda: HistGradientBoostingClassifier(max_iter=3, max_depth=3),
        "hist-categorical": lambda: HistGradientBoostingClassifier(
            max_iter=3, categorical_features=[3]
        ),
    }[kind]().fit(np.column_stack([X[:, :3], (X[:, 3] > 0).astype(int)]), Y)


@pytest.mark.parametrize(
    ("kind", "trees"),
    [("tree", 1), ("forest", 3), ("extra", 3), ("boosting", 3), ("hist", 3)],
)
def test_every_tree_of_a_good_model_is_checked_and_passes(kind, trees):
    model = Pipeline([("scale", StandardScaler()), ("clf", _fitted(kind))])
    assert check_tree_structures(model) == trees


def test_a_categorical_histogram_model_passes():
    assert check_tree_structures(_fitted("hist-categorical")) == 3


def test_the_issue_crafted_forest_is_refused():
    with pytest.raises(TreeStructureError, match="child index"):
        check_tree_structures(crafted_forest(X, Y))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("left_child", CRAFTED_CHILD, "child index"),
        ("right_child", -5, "child index"),
        ("left_child", 0, "child index"),  # a cycle back to the root: an endless loop
        ("feature", 40, "feature index"),
        ("feature", -3, "feature index"),
        ("threshold", np.nan, "not a finite number"),
    ],
)
@pytest.mark.parametrize("kind", ["tree", "forest", "boosting"])
def test_a_tampered_tree_is_refused(kind, field, value, message):
    model = _fitted(kind)
    first = model if kind == "tree" else np.asarray(model.estimators_).ravel()[0]
    tamper_tree(first.tree_, field, value)
    with pytest.raises(TreeStructureError, match=message):
        check_tree_structures(model)


def test_non_finite_leaf_values_are_refused():
    model = _fitted("forest")
    tamper_values(model.estimators_[1].tree_, np.inf)
    with pytest.raises(TreeStructureError, match="not a finite number"):
        check_tree_structures(model)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("left", CRAFTED_CHILD, "child index"),
        ("feature_idx", 9, "feature index"),
        ("num_threshold", np.nan, "not a finite number"),
        ("value", np.inf, "not a finite number"),
    ],
)
def test_a_tampered_histogram_predictor_is_refused(field, value, message):
    model = _fitted("hist")
    nodes = model._predictors[1][0].nodes
    nodes[field][0 if field != "value" else -1] = value
    with pytest.raises(TreeStructureError, match=message):
        check_tree_structures(model)


def test_a_categorical_split_on_a_numeric_feature_is_refused():
    model = _fitted("hist-categorical")
    nodes = model._predictors[0][0].nodes
    split = int(np.flatnonzero(~nodes["is_leaf"].astype(bool))[0])
    nodes["is_categorical"][split] = 1
    nodes["feature_idx"][split] = 0
    with pytest.raises(TreeStructureError, match="categorical"):
        check_tree_structures(model)
