"""Prometheus instruments every group records into, on a registry per app so tests never collide."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ROW_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)
BATCH_REQUEST_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class ScoreHistogram(Collector):
    """A histogram that takes a whole batch of scores in one vectorised call."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...]) -> None:
        self.name, self.documentation = name, documentation
        self._buckets = np.asarray(buckets, dtype=np.float64)
        self._counts = np.zeros(len(buckets) + 1, dtype=np.int64)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe_many(self, values: np.ndarray) -> None:
        """Count ``values``; NaN and infinity are dropped, since one would poison the sum."""
        total = float(values.sum())
        if not math.isfinite(total):
            values = values[np.isfinite(values)]
            total = float(values.sum())
            if not math.isfinite(total):  # finite values whose sum overflows: none is a score
                return
        index = np.searchsorted(self._buckets, values, side="left")
        counts = np.bincount(index, minlength=len(self._counts))
        with self._lock:
            self._counts += counts
            self._sum += total

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            cumulative = np.cumsum(self._counts).tolist()
            total = self._sum
        bounds = [*(f"{b:g}" for b in self._buckets), "+Inf"]
        yield HistogramMetricFamily(
            self.name,
            self.documentation,
            buckets=list(zip(bounds, cumulative, strict=True)),
            sum_value=total,
        )


class ApiMetrics:
    """Label values are bounded: route templates, status codes, versions, classes, key ids."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "mlsys_http_requests_total",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "mlsys_http_request_duration_seconds",
            "Time to answer a request, by route.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "mlsys_predictions_total",
            "Predicted rows by model version and class.",
            ["version", "label"],
            registry=r,
        )
        self.scores = ScoreHistogram(
            "mlsys_prediction_score",
            "Probability of the predicted class, per row.",
            SCORE_BUCKETS,
        )
        r.register(self.scores)
        self.non_finite_outputs = Counter(
            "mlsys_non_finite_outputs_total",
            "Requests refused because the model answered NaN or infinity, by model version.",
            ["version"],
            registry=r,
        )
        self.rows = Histogram(
            "mlsys_rows_per_request",
            "Rows per prediction request.",
            buckets=ROW_BUCKETS,
            registry=r,
        )
        self.batch_rows = Histogram(
            "mlsys_batch_rows",
            "Rows per model call on the scoring thread.",
            buckets=ROW_BUCKETS,
            registry=r,
        )
        self.batch_requests = Histogram(
            "mlsys_batch_requests",
            "Requests whose rows shared one model call on the scoring thread.",
            buckets=BATCH_REQUEST_BUCKETS,
            registry=r,
        )
        self.scoring_overloaded = Counter(
            "mlsys_scoring_overloaded_total",
            "Requests answered 503 because the scoring queue was full.",
            registry=r,
        )
        self.model_info = Gauge(
            "mlsys_model_info",
            "1 for the model version being served.",
            ["name", "version", "alias", "engine"],
            registry=r,
        )
        self.model_loads = Counter(
            "mlsys_model_loads_total", "Model versions loaded and swapped in.", registry=r
        )
        self.model_load_failures = Counter(
            "mlsys_model_load_failures_total",
            "Failed attempts to load a model version.",
            ["alias", "reason"],
            registry=r,
        )
        self.registry_up = Gauge(
            "mlsys_registry_up",
            "1 when the last poll reached the model registry, 0 when it could not.",
            registry=r,
        )
        self.registry_last_success = Gauge(
            "mlsys_registry_last_success_timestamp_seconds",
            "Unix time of the last poll that reached the model registry.",
            registry=r,
        )
        self.model_ready = Gauge(
            "mlsys_model_ready", "1 when a model is loaded and serving.", registry=r
        )
        self.auth_refused = Counter(
            "mlsys_auth_refused_total",
            "Requests refused by authentication or authorisation.",
            ["reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "mlsys_rate_limited_total",
            "Requests refused by the per-key rate limit.",
            ["key_id"],
            registry=r,
        )
        self.shadow_rows = Counter(
            "mlsys_shadow_rows_total",
            "Rows scored by the shadow model, by agreement.",
            ["outcome"],
            registry=r,
        )
        self.shadow_dropped = Counter(
            "mlsys_shadow_dropped_total",
            "Shadow requests dropped because the queue was full.",
            registry=r,
        )
        self.shadow_agreement = Gauge(
            "mlsys_shadow_agreement_ratio",
            "Share of shadow-scored rows where challenger and champion agree.",
            registry=r,
        )

    def observe_batch(self, rows: int, requests: int) -> None:
        """One model call on the scoring thread: its rows and how many requests they came from."""
        self.batch_rows.observe(rows)
        self.batch_requests.observe(requests)
