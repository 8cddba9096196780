"""Open Inference Protocol v2: health, metadata, readiness and infer answer like KServe's."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

NAME = "breast-cancer-classifier"


@pytest.fixture
def expected(api: TestClient, feature_rows) -> list[int]:
    return api.post("/v1/predict", json={"rows": feature_rows[:3]}).json()["predictions"]


def test_oip_health_metadata_and_readiness(api):
    assert api.get("/v2/health/live").json() == {"live": True}
    assert api.get("/v2/health/ready").json() == {"ready": True}
    assert api.get(f"/v2/models/{NAME}/ready").json() == {"name": NAME, "ready": True}
    meta = api.get(f"/v2/models/{NAME}").json()
    assert meta["versions"] == ["1"]
    assert meta["inputs"][0] == {"name": "mean_radius", "datatype": "FP64", "shape": [-1]}
    assert [o["name"] for o in meta["outputs"]] == ["label", "probabilities"]
    missing = api.get("/v2/models/other-model")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


def test_oip_infer_with_one_matrix_tensor(api, feature_rows, expected):
    columns = list(feature_rows[0])
    data = [[row[c] for c in columns] for row in feature_rows[:3]]
    body = {
        "id": "req-1",
        "inputs": [
            {
                "name": "input-0",
                "shape": [3, 30],
                "datatype": "FP64",
                "data": [v for row in data for v in row],
            }
        ],
    }
    response = api.post(f"/v2/models/{NAME}/infer", json=body)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["id"] == "req-1" and out["model_version"] == "1"
    label, proba = out["outputs"]
    assert label == {"name": "label", "datatype": "INT64", "shape": [3], "data": expected}
    assert proba["shape"] == [3, 2] and len(proba["data"]) == 6


def test_oip_infer_with_one_tensor_per_column_and_an_output_filter(api, feature_rows, expected):
    rows = feature_rows[:3]
    inputs = [
        {"name": c, "shape": [3], "datatype": "FP64", "data": [r[c] for r in rows]}
        for c in reversed(list(rows[0]))
    ]
    body = {"inputs": inputs, "outputs": [{"name": "label"}]}
    out = api.post(f"/v2/models/{NAME}/infer", json=body).json()
    assert [o["name"] for o in out["outputs"]] == ["label"]
    assert out["outputs"][0]["data"] == expected


@pytest.mark.parametrize(
    ("tensor", "field"),
    [
        ({"name": "x", "shape": [2, 30], "datatype": "FP64", "data": [1.0] * 59}, "inputs[0].data"),
        (
            {"name": "x", "shape": [1, 29], "datatype": "FP64", "data": [1.0] * 29},
            "inputs[0].shape",
        ),
        (
            {"name": "x", "shape": [1, 30], "datatype": "BYTES", "data": [1.0] * 30},
            "inputs[0].datatype",
        ),
        (
            {"name": "x", "shape": [1, 30], "datatype": "INT64", "data": [1.5] * 30},
            "inputs[0].data",
        ),
        (
            {"name": "x", "shape": [1, 30], "datatype": "FP64", "data": [True] * 30},
            "inputs[0].data",
        ),
        # Ragged rows were a 500 from numpy; out-of-range values were accepted.
        (
            {"name": "x", "shape": [2, 30], "datatype": "FP64", "data": [[1.0] * 30, [1.0] * 5]},
            "inputs[0].data",
        ),
        (
            {"name": "x", "shape": [1, 30], "datatype": "UINT8", "data": [-5] + [1] * 29},
            "inputs[0].data",
        ),
        (
            {"name": "x", "shape": [1, 30], "datatype": "FP16", "data": [1e300] + [1.0] * 29},
            "inputs[0].data",
        ),
    ],
)
def test_oip_infer_refusals_name_the_tensor(api, tensor, field):
    response = api.post(f"/v2/models/{NAME}/infer", json={"inputs": [tensor]})
    assert response.status_code == 422
    fields = [d["field"] for d in response.json()["error"]["details"]]
    assert any(f.startswith(field) for f in fields), fields


def test_oip_unknown_output_is_refused(api, feature_rows):
    tensor = {"name": "x", "shape": [1, 30], "datatype": "FP64", "data": [1.0] * 30}
    response = api.post(
        f"/v2/models/{NAME}/infer", json={"inputs": [tensor], "outputs": [{"name": "logits"}]}
    )
    assert response.status_code == 422


def test_model_readiness_needs_a_key_so_it_does_not_name_the_model(api):
    """Without a key, /v2/models/<x>/ready told anyone which model the server serves."""
    anonymous = api.get(f"/v2/models/{NAME}/ready", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert NAME not in anonymous.text
    assert api.get(f"/v2/models/{NAME}/ready").json() == {"name": NAME, "ready": True}
