"""The request middleware: request ids, security headers, timeouts as 504 in the error shape."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.http.middleware import RequestContextMiddleware
from app.metrics import ApiMetrics

STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def test_a_request_over_the_timeout_gets_504():
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.Event().wait()  # never set: only the timeout ends this request
        return {"late": "yes"}

    app.add_middleware(RequestContextMiddleware, metrics=ApiMetrics(), timeout_seconds=0.1)
    response = TestClient(app).get("/slow", headers={"X-Request-ID": "t-1"})
    assert response.status_code == 504
    assert response.json()["error"] == {
        "code": "timeout",
        "message": "request took longer than 0.1s",
        "details": [],
        "request_id": "t-1",
    }
    assert response.headers["x-request-id"] == "t-1"


def test_request_id_is_echoed_or_generated(api: TestClient, feature_rows):
    given = api.post(
        "/v1/predict", json={"rows": feature_rows[:1]}, headers={"X-Request-ID": "client-abc.123"}
    )
    assert given.headers["x-request-id"] == "client-abc.123"
    assert given.json()["request_id"] == "client-abc.123"
    forged = api.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(forged.headers["x-request-id"]) == 32
    assert forged.headers["x-request-id"] != api.get("/healthz").headers["x-request-id"]


def test_security_headers_on_every_response(api: TestClient):
    responses = (
        api.get("/healthz"),
        api.post("/v1/predict", content=b"{"),
        api.get("/nope"),
        api.get("/docs"),  # off by default: a 404 like any unknown route, headers included
        api.get("/openapi.json"),
    )
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"] == STRICT_CSP


def test_docs_pages_get_their_own_policy_only_where_the_app_says():
    app = FastAPI()
    app.add_middleware(
        RequestContextMiddleware, metrics=ApiMetrics(), timeout_seconds=5, docs_paths=("/docs",)
    )
    client = TestClient(app)
    docs = client.get("/docs").headers["content-security-policy"]
    assert "script-src" in docs and "frame-ancestors 'none'" in docs
    assert client.get("/docs/oauth2-redirect").headers["content-security-policy"] == docs
    assert client.get("/docsx").headers["content-security-policy"] == STRICT_CSP
    assert client.get("/redoc").headers["content-security-policy"] == STRICT_CSP


def test_requests_are_counted_by_route_template(api: TestClient):
    api.get("/v2/models/breast-cancer-classifier/ready")
    api.get("/nope")
    registry = api.app.state.mlsys.metrics.registry
    by_route = registry.get_sample_value(
        "mlsys_http_requests_total",
        {"route": "/v2/models/{name}/ready", "method": "GET", "status": "200"},
    )
    unmatched = registry.get_sample_value(
        "mlsys_http_requests_total", {"route": "unmatched", "method": "GET", "status": "404"}
    )
    assert by_route == 1.0 and unmatched == 1.0
