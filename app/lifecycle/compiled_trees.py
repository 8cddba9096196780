"""Exact numpy forms of the pipeline's tree ensembles: every tree walked at once, per call.

scikit-learn validates the input and dispatches each of a forest's 100 trees separately, so
one row costs ~10 ms; the same comparisons on arrays packed from all trees cost well under
one. The walks repeat scikit-learn's own arithmetic: a forest compares float32 inputs with
float64 thresholds and sums tree probabilities in tree order; boosting compares float64
inputs and adds leaf values to the baseline iteration by iteration, then applies the
logistic function. ``compile_model`` uses these only after they reproduce the estimator's
probabilities on the model's examples and on rows around them, as for the linear form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

ProbaFn = Callable[[np.ndarray], np.ndarray]
Transform = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class _Packed:
    """All trees' nodes in flat arrays; a leaf's children are itself, so walks park there."""

    roots: np.ndarray  # (trees,) each tree's root, deepest tree first
    order: np.ndarray  # (trees,) where each tree, in the model's order, sits in ``roots``
    deeper: list[int]  # deeper[d]: how many trees still have nodes below depth d
    feature: np.ndarray
    threshold: np.ndarray
    nan_left: np.ndarray  # where a missing value goes
    left: np.ndarray
    right: np.ndarray

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """(trees, rows), trees in the model's order: the leaf each row reaches in each."""
        rows = np.arange(len(x))[None, :]
        node = np.repeat(self.roots[:, None], len(x), axis=1)
        for active in self.deeper:  # shallow trees drop out as their rows reach leaves
            at = node[:active]
            value = x[rows, self.feature[at]]
            # Compared as scikit-learn does: a float32 input is widened to float64 first.
            go_left = np.where(np.isnan(value), self.nan_left[at], value <= self.threshold[at])
            node[:active] = np.where(go_left, self.left[at], self.right[at])
        leaves: np.ndarray = node[self.order]
        return leaves


def _pack(trees: list[dict[str, np.ndarray]], depths: list[int]) -> _Packed:
    offsets = np.cumsum([0] + [len(t["left"]) for t in trees[:-1]])
    deepest_first = np.argsort(-np.asarray(depths), kind="stable")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "nan", "l", "r")}
    for offset, tree in zip(offsets, trees, strict=True):
        own = np.arange(len(tree["left"])) + offset
        leaf = tree["leaf"]
        parts["feature"].append(np.where(leaf, 0, tree["feature"]).astype(np.intp))
        parts["threshold"].append(tree["threshold"].astype(np.float64))
        parts["nan"].append(tree["nan_left"].astype(bool))
        parts["l"].append(np.where(leaf, own, tree["left"] + offset).astype(np.intp))
        parts["r"].append(np.where(leaf, own, tree["right"] + offset).astype(np.intp))
    ordered = np.asarray(depths)[deepest_first]
    return _Packed(
        roots=offsets[deepest_first].astype(np.intp),
        order=np.argsort(deepest_first),
        deeper=[int((ordered > d).sum()) for d in range(int(ordered.max(initial=0)))],
        feature=np.concatenate(parts["feature"]),
        threshold=np.concatenate(parts["threshold"]),
        nan_left=np.concatenate(parts["nan"]),
        left=np.concatenate(parts["l"]),
        right=np.concatenate(parts["r"]),
    )


def _forest(model: Any, before: Transform) -> ProbaFn | None:
    if getattr(model, "n_outputs_", 1) != 1:
        return None
    n_classes = len(model.classes_)
    trees, values = [], []
    for estimator in model.estimators_:
        tree = estimator.tree_
        trees.append(
            {
                "leaf": tree.children_left == -1,
                "feature": tree.feature,
                "threshold": tree.threshold,
                "nan_left": tree.missing_go_to_left,
                "left": tree.children_left,
                "right": tree.children_right,
            }
        )
        values.append(tree.value[:, 0, :n_classes])
    packed = _pack(trees, [e.tree_.max_depth for e in model.estimators_])
    value = np.concatenate(values).astype(np.float64)
    count = len(model.estimators_)

    def predict_proba(x: np.ndarray) -> np.ndarray:
        leaves = packed.leaves(before(x).astype(np.float32))
        proba = np.zeros((len(x), n_classes))
        for per_tree in value[leaves]:  # in tree order, as scikit-learn accumulates
            proba += per_tree
        proba /= count
        return proba

    return predict_proba


def _boosting(model: Any, before: Transform) -> ProbaFn | None:
    from scipy.special import expit

    predictors = [p for iteration in model._predictors for p in iteration]
    if (
        model.n_trees_per_iteration_ != 1
        or len(model.classes_) != 2
        or type(model._loss).__name__ != "HalfBinomialLoss"
        or any(p.nodes["is_categorical"].any() for p in predictors)
    ):
        return None
    trees = [
        {
            "leaf": p.nodes["is_leaf"].astype(bool),
            "feature": p.nodes["feature_idx"],
            "threshold": p.nodes["num_threshold"],
            "nan_left": p.nodes["missing_go_to_left"],
            "left": p.nodes["left"].astype(np.intp),
            "right": p.nodes["right"].astype(np.intp),
        }
        for p in predictors
    ]
    packed = _pack(trees, [int(p.nodes["depth"].max()) for p in predictors])
    value = np.concatenate([p.nodes["value"] for p in predictors]).astype(np.float64)
    baseline = float(np.asarray(model._baseline_prediction).ravel()[0])

    def predict_proba(x: np.ndarray) -> np.ndarray:
        leaves = packed.leaves(before(x).astype(np.float64))
        raw = np.zeros(len(x)) + baseline
        for per_tree in value[leaves]:  # iteration by iteration, as scikit-learn adds them
            raw += per_tree
        proba = np.empty((len(x), 2))
        proba[:, 1] = expit(raw)
        proba[:, 0] = 1 - proba[:, 1]
        return proba

    return predict_proba


def _scalers(transforms: list[Any]) -> Transform | None:
    """StandardScalers as scikit-learn applies them (subtract, then divide), else None."""
    from sklearn.preprocessing import StandardScaler

    if any(type(t) is not StandardScaler for t in transforms):
        return None
    steps = [
        (t.mean_ if t.with_mean else None, t.scale_ if t.with_std else None) for t in transforms
    ]

    def transform(x: np.ndarray) -> np.ndarray:
        for mean, scale in steps:
            if mean is not None:
                x = x - mean
            if scale is not None:
                x = x / scale
        return x

    return transform


def compile_trees(steps: list[Any]) -> ProbaFn | None:
    """A numpy ``predict_proba`` for scalers then a forest or boosted trees, else None."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    *transforms, final = steps
    before = _scalers(transforms)
    if before is None:
        return None
    if type(final) is RandomForestClassifier:
        return _forest(final, before)
    if type(final) is HistGradientBoostingClassifier:
        return _boosting(final, before)
    return None
