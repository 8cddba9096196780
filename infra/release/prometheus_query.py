"""Instant queries against Prometheus's HTTP API (``GET /api/v1/query``), one number each."""

from __future__ import annotations

import math

import httpx


class PrometheusError(RuntimeError):
    """Prometheus could not be reached or refused the query."""


class Prometheus:
    """A client for scalar answers: ``None`` means no series matched (or the value is NaN)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def value(self, query: str) -> float | None:
        """Evaluate ``query`` now; it must return at most one series."""
        try:
            response = self._http.get("/api/v1/query", params={"query": query})
        except httpx.HTTPError as error:
            raise PrometheusError(f"cannot reach Prometheus: {error}") from error
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(f"HTTP {response.status_code}: {response.text[:200]}") from None
        if body.get("status") != "success":
            raise PrometheusError(f"{body.get('errorType')}: {body.get('error')} in {query}")
        data = body["data"]
        if data["resultType"] == "scalar":
            raw = data["result"][1]
        elif not data["result"]:
            return None
        elif len(data["result"]) > 1:
            raise PrometheusError(f"{len(data['result'])} series where one was expected: {query}")
        else:
            raw = data["result"][0]["value"][1]
        number = float(raw)
        # histogram_quantile and 0/0 answer NaN when there is no traffic: that is no data.
        return None if math.isnan(number) else number
