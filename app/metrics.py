"""Prometheus metrics, on a registry per app so tests and reloads never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ROW_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)


class ApiMetrics:
    """Label values are bounded: route templates, status codes, model versions, class labels."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mlsys_http_requests_total",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mlsys_http_request_duration_seconds",
            "Time to answer a request, by route.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "mlsys_predictions_total",
            "Predicted rows by model version and label.",
            ["version", "label"],
            registry=self.registry,
        )
        self.rows = Histogram(
            "mlsys_rows_per_request",
            "Rows per prediction request.",
            buckets=ROW_BUCKETS,
            registry=self.registry,
        )
        self.model_info = Gauge(
            "mlsys_model_info",
            "1 for the model version being served.",
            ["name", "version", "alias"],
            registry=self.registry,
        )
        self.model_loads = Counter(
            "mlsys_model_loads_total",
            "Model versions loaded and swapped in.",
            registry=self.registry,
        )
        self.model_load_failures = Counter(
            "mlsys_model_load_failures_total",
            "Failed attempts to load a model version, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.model_ready = Gauge(
            "mlsys_model_ready", "1 when a model is loaded and serving.", registry=self.registry
        )
