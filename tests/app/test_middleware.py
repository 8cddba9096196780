"""Request timeouts answer 504 in the standard error shape."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.metrics import ApiMetrics
from app.middleware import RequestContextMiddleware


def test_a_request_over_the_timeout_gets_504():
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(2)
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
