"""Input drift: population stability index of recent inputs against the training data."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

REFERENCE_FILE = "reference_stats.json"
_BINS = 10
_EPSILON = 1e-4


def build_reference(matrix: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Per feature: decile edges of the training values and the share of rows in each bin."""
    features = []
    quantiles = np.linspace(0, 1, _BINS + 1)[1:-1]
    for j, name in enumerate(names):
        column = matrix[:, j]
        edges = np.unique(np.quantile(column, quantiles))
        counts = np.bincount(np.searchsorted(edges, column, side="right"), minlength=len(edges) + 1)
        features.append(
            {"name": name, "edges": edges.tolist(), "expected": (counts / counts.sum()).tolist()}
        )
    return {"version": 1, "rows": int(matrix.shape[0]), "features": features}


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.clip(expected, _EPSILON, None)
    a = np.clip(actual, _EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


class DriftWindow:
    """The last ``size`` rows served, kept in a ring buffer; PSI is computed on scrape."""

    def __init__(self, reference: dict[str, Any], size: int) -> None:
        self.names = [f["name"] for f in reference["features"]]
        self._edges = [np.asarray(f["edges"], dtype=np.float64) for f in reference["features"]]
        self._expected = [
            np.asarray(f["expected"], dtype=np.float64) for f in reference["features"]
        ]
        self._rows = np.zeros((size, len(self.names)), dtype=np.float64)
        self._next = 0
        self._filled = 0
        self._lock = threading.Lock()

    def add(self, matrix: np.ndarray) -> None:
        size = self._rows.shape[0]
        rows = matrix[-size:]
        with self._lock:
            end = self._next + len(rows)
            if end <= size:
                self._rows[self._next : end] = rows
            else:
                split = size - self._next
                self._rows[self._next :] = rows[:split]
                self._rows[: end - size] = rows[split:]
            self._next = end % size
            self._filled = min(size, self._filled + len(rows))

    @property
    def filled(self) -> int:
        return self._filled

    def scores(self) -> dict[str, float]:
        with self._lock:
            window = self._rows[: self._filled].copy()
        if len(window) == 0:
            return {}
        result = {}
        for j, name in enumerate(self.names):
            bins = np.searchsorted(self._edges[j], window[:, j], side="right")
            counts = np.bincount(bins, minlength=len(self._expected[j]))
            result[name] = psi(self._expected[j], counts / counts.sum())
        return result
