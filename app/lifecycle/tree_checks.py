"""Bounds checks for tree node arrays, which scikit-learn's compiled code indexes unchecked.

skops must trust ``Tree`` and ``TreePredictor`` to load any tree model, and their prediction
loops follow child and feature indices straight into memory: a crafted index reads far
outside the arrays and crashes the process. Every tree reachable from the estimator is
checked before its first prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.model_contract import ArtifactError

_TREE_LEAF = -1  # sklearn.tree._tree.TREE_LEAF
_MAX_DEPTH_OF_SEARCH = 8  # pipelines of ensembles of trees nest a few levels, never more


class TreeStructureError(ArtifactError):
    """A tree's node arrays point outside themselves or hold non-finite numbers."""


def _children_ok(left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray) -> bool:
    """Children of split nodes lie after their parent and inside the array (so no cycles)."""
    count = len(left)
    index = np.arange(count)
    split = ~is_leaf
    return bool(
        np.all((left[split] > index[split]) & (left[split] < count))
        and np.all((right[split] > index[split]) & (right[split] < count))
    )


def check_tree(tree: Any, n_features: int, where: str) -> None:
    """A ``sklearn.tree._tree.Tree``: indices in range, finite values and split thresholds."""
    state = tree.__getstate__()
    nodes, values = state["nodes"], state["values"]
    count = int(state["node_count"])
    if not 0 < count <= len(nodes) or tree.n_features != n_features:
        raise TreeStructureError(f"{where}: inconsistent node count or feature count")
    nodes, values = nodes[:count], values[:count]
    left = nodes["left_child"].astype(np.int64)
    right = nodes["right_child"].astype(np.int64)
    is_leaf = (left == _TREE_LEAF) & (right == _TREE_LEAF)
    feature = nodes["feature"][~is_leaf]
    threshold = nodes["threshold"][~is_leaf]
    if not _children_ok(left, right, is_leaf):
        raise TreeStructureError(f"{where}: a child index is outside the tree")
    if np.any((feature < 0) | (feature >= n_features)):
        raise TreeStructureError(f"{where}: a feature index is outside 0..{n_features - 1}")
    # +inf is what scikit-learn writes for a split that sends only missing values right.
    if np.any(np.isnan(threshold) | (threshold == -np.inf)) or not np.all(np.isfinite(values)):
        raise TreeStructureError(f"{where}: a threshold or value is not a finite number")


def check_predictor(predictor: Any, n_features: int, categorical: np.ndarray, where: str) -> None:
    """A histogram-gradient-boosting ``TreePredictor``, checked like a ``Tree``."""
    nodes = predictor.nodes
    n_bitsets = min(len(predictor.raw_left_cat_bitsets), len(predictor.binned_left_cat_bitsets))
    is_leaf = nodes["is_leaf"].astype(bool)
    split = nodes[~is_leaf]
    if len(nodes) == 0 or not _children_ok(
        nodes["left"].astype(np.int64), nodes["right"].astype(np.int64), is_leaf
    ):
        raise TreeStructureError(f"{where}: a child index is outside the tree")
    if np.any((split["feature_idx"] < 0) | (split["feature_idx"] >= n_features)):
        raise TreeStructureError(f"{where}: a feature index is outside 0..{n_features - 1}")
    on_category = split[split["is_categorical"].astype(bool)]
    if np.any(on_category["bitset_idx"] >= n_bitsets) or not np.all(
        categorical[on_category["feature_idx"]]
    ):
        raise TreeStructureError(f"{where}: a categorical bitset index is out of range")
    if np.any(np.isnan(split["num_threshold"])) or not np.all(np.isfinite(nodes["value"])):
        raise TreeStructureError(f"{where}: a threshold or value is not a finite number")


def _children(obj: Any) -> list[tuple[str, Any]]:
    if isinstance(obj, list | tuple):
        return [(f"[{i}]", item) for i, item in enumerate(obj)]
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        return [(f"[{i}]", item) for i, item in enumerate(obj.ravel())]
    if isinstance(obj, dict):
        return [(f"[{k!r}]", v) for k, v in obj.items()]
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("sklearn."):
        return [(f".{k}", v) for k, v in vars(obj).items()]
    return []


def check_tree_structures(estimator: Any) -> int:
    """Check every tree reachable from ``estimator``; returns how many were checked."""
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.tree._tree import Tree

    checked = 0
    # (object, path, feature count of the nearest enclosing fitted estimator, categorical mask)
    stack: list[tuple[Any, str, int | None, np.ndarray | None, int]] = [
        (estimator, "model", None, None, 0)
    ]
    seen: set[int] = set()
    while stack:
        obj, where, n_features, categorical, depth = stack.pop()
        if id(obj) in seen or depth > _MAX_DEPTH_OF_SEARCH:
            continue
        seen.add(id(obj))
        if isinstance(obj, Tree):
            check_tree(obj, n_features if n_features is not None else obj.n_features, where)
            checked += 1
            continue
        if isinstance(obj, TreePredictor):
            if n_features is None or categorical is None:
                raise TreeStructureError(f"{where}: a tree predictor outside its estimator")
            check_predictor(obj, n_features, categorical, where)
            checked += 1
            continue
        own = getattr(obj, "n_features_in_", None) if hasattr(obj, "__dict__") else None
        features = int(own) if isinstance(own, int | np.integer) else n_features
        mapper = getattr(obj, "_bin_mapper", None)
        if features is not None and mapper is not None:
            # Which features histogram boosting may split by category (None: none of them).
            flags = getattr(mapper, "is_categorical_", None)
            categorical = (
                np.zeros(features, dtype=bool)
                if flags is None
                else np.asarray(flags, dtype=bool).reshape(-1)[:features]
            )
            if len(categorical) != features:
                raise TreeStructureError(f"{where}: categorical flags do not match the features")
        stack.extend(
            (child, where + name, features, categorical, depth + 1)
            for name, child in _children(obj)
        )
    return checked
