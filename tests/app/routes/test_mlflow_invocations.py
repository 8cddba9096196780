"""POST /invocations answers like `mlflow models serve`, for every MLflow input format."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def expected(api: TestClient, feature_rows) -> list[int]:
    return api.post("/v1/predict", json={"rows": feature_rows[:3]}).json()["predictions"]


def _formats(rows: list[dict[str, float]]) -> dict[str, dict]:
    columns = list(rows[0])
    data = [[row[c] for c in columns] for row in rows]
    return {
        "dataframe_split": {"dataframe_split": {"columns": columns, "data": data}},
        "dataframe_records": {"dataframe_records": rows},
        "instances": {"instances": rows},
        "inputs-records": {"inputs": rows},
        "inputs-columns": {"inputs": {c: [row[c] for row in rows] for c in columns}},
        "instances-positional": {"instances": data},
    }


@pytest.mark.parametrize(
    "layout",
    [
        "dataframe_split",
        "dataframe_records",
        "instances",
        "inputs-records",
        "inputs-columns",
        "instances-positional",
    ],
)
def test_invocations_accepts_every_mlflow_format(api, feature_rows, expected, layout):
    response = api.post("/invocations", json=_formats(feature_rows[:3])[layout])
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "invalid_request"),
        ({"dataframe_records": [], "instances": []}, 422, "invalid_request"),
        ({"dataframe_records": [{"mean_radius": "x"}]}, 422, "invalid_request"),
        ({"inputs": {"a": [1.0], "b": [1.0, 2.0]}}, 422, "invalid_input"),
        ({"dataframe_records": []}, 422, "invalid_input"),
    ],
)
def test_invocations_refusals(api, body, status, code):
    response = api.post("/invocations", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code


def test_invocations_wants_json(api, feature_rows):
    response = api.post("/invocations", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_invocations_missing_column_names_field_and_row(api, feature_rows):
    rows = [dict(r) for r in feature_rows[:2]]
    rows[1].pop("worst_area")
    details = api.post("/invocations", json={"dataframe_records": rows}).json()["error"]["details"]
    assert details == [{"field": "rows[1].worst_area", "message": "required column is missing"}]


@pytest.mark.parametrize(
    "media_type",
    [
        "APPLICATION/JSON",
        "Application/Json; charset=UTF-8",
        'application/json ; CHARSET="utf-8"',
        "application/json; version=1",
    ],
)
def test_the_media_type_is_case_insensitive(api, feature_rows, media_type):
    body = orjson.dumps({"dataframe_records": feature_rows[:1]})
    response = api.post("/invocations", content=body, headers={"content-type": media_type})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "media_type",
    ["application/json; charset=utf-16", "application/jsonl", "application/json-seq", ""],
)
def test_other_media_types_and_charsets_are_415(api, feature_rows, media_type):
    """JSON is UTF-8 only (RFC 8259): a body declared as UTF-16 was read as UTF-8 anyway."""
    body = orjson.dumps({"dataframe_records": feature_rows[:1]})
    response = api.post("/invocations", content=body, headers={"content-type": media_type})
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"
