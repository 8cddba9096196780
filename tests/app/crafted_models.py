"""Tree models whose node arrays were tampered with, as an attacker would craft them."""

from __future__ import annotations

from typing import Any

import numpy as np

CRAFTED_CHILD = 100_000_000  # the child index: far outside any node array


def tamper_tree(tree: Any, field: str, value: float, node: int = 0) -> None:
    """Set one field of one node of a ``sklearn.tree._tree.Tree`` through its own state."""
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    nodes[field][node] = value
    tree.__setstate__({**state, "nodes": nodes})


def tamper_values(tree: Any, value: float) -> None:
    state = tree.__getstate__()
    values = state["values"].copy()
    values[0] = value
    tree.__setstate__({**state, "values": values})


def crafted_forest(train: np.ndarray, labels: np.ndarray) -> Any:
    """A small random forest whose first tree's root points 1e8 nodes away."""
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0)
    forest.fit(train, labels)
    tamper_tree(forest.estimators_[0].tree_, "left_child", CRAFTED_CHILD)
    return forest
