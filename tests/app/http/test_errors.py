"""One error shape: built by one function, used by every handler and by the middleware."""

from __future__ import annotations

import logging
import socket
import threading

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from app.http.errors import ApiError, ErrorDetail, error_json, field_path
from app.wiring.factory import create_app
from tests.app.conftest import wait_until
from tests.servers import free_port


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("body", "rows", 3, "x"), "rows[3].x"),
        (("body",), "body"),
        (("body", "inputs", "list[float]", 0), "inputs[0]"),
        (("query", "q"), "query.q"),
    ],
)
def test_field_path_points_into_the_clients_json(loc, path):
    assert field_path(loc) == path


def test_error_json_has_the_documented_shape():
    error = ApiError(422, "invalid_input", "bad", [ErrorDetail(field="rows[0].a", message="m")])
    assert error_json(error, "req-1") == {
        "error": {
            "code": "invalid_input",
            "message": "bad",
            "details": [{"field": "rows[0].a", "message": "m"}],
            "request_id": "req-1",
        }
    }


def test_unknown_route_and_method_use_the_error_shape(api: TestClient):
    for response, code in (
        (api.get("/nope"), "not_found"),
        (api.get("/v1/predict"), "method_not_allowed"),
    ):
        body = response.json()
        assert set(body["error"]) == {"code", "message", "details", "request_id"}
        assert body["error"]["code"] == code
        assert body["error"]["request_id"] == response.headers["x-request-id"]


@pytest.mark.slow
def test_a_client_gone_mid_body_is_a_499_not_a_server_error(
    api_settings, keys, registry, caplog: pytest.LogCaptureFixture
):
    """A disconnect mid-body was logged as 'unhandled error' with a traceback, counted 500."""
    app = create_app(api_settings, registry)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, http="httptools"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    metrics = app.state.mlsys.metrics.registry

    def counted(status: str) -> float:
        labels = {"route": "/v1/predict", "method": "POST", "status": status}
        return metrics.get_sample_value("mlsys_http_requests_total", labels) or 0.0

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        except httpx.TransportError:
            return False

    with caplog.at_level(logging.DEBUG):
        thread.start()
        try:
            wait_until(ready, what="the server to be ready")
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(
                    b"POST /v1/predict HTTP/1.1\r\nHost: api\r\n"
                    + f"Authorization: Bearer {keys.predict}\r\n".encode()
                    + b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                    + b'{"rows": [{"mean_radius": 1'
                )
                wait_until(lambda: len(server.server_state.connections) > 0)
            wait_until(lambda: counted("499") == 1, what="the disconnect to be counted")
        finally:
            server.should_exit = True
            thread.join(15)
    assert counted("500") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    access = [r for r in caplog.records if getattr(r, "route", None) == "/v1/predict"]
    assert [getattr(r, "status", None) for r in access] == [499]
