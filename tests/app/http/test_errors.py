"""One error shape: built by one function, used by every handler and by the middleware."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.http.errors import ApiError, ErrorDetail, error_json, field_path


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
