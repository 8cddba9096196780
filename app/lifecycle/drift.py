"""Input drift: population stability index of recent inputs against the training data."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.model_contract import bin_shares, psi


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
        return {
            name: psi(self._expected[j], bin_shares(self._edges[j], window[:, j]))
            for j, name in enumerate(self.names)
        }


class DriftCollector(Collector):
    """Population stability index per feature over the current model's recent inputs."""

    def __init__(self, window: Callable[[], DriftWindow | None]) -> None:
        self._window = window

    def collect(self) -> Iterator[Metric]:
        psi_gauge = GaugeMetricFamily(
            "mlsys_feature_drift_psi",
            "Population stability index of recent inputs against training data, per feature.",
            labels=["feature"],
        )
        rows = GaugeMetricFamily("mlsys_drift_window_rows", "Rows in the drift window.")
        window = self._window()
        if window is not None:
            for feature, value in window.scores().items():
                psi_gauge.add_metric([feature], value)
            rows.add_metric([], window.filled)
        yield psi_gauge
        yield rows
