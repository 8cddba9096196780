"""POST /v1/predict: answers, refusals and metrics, through the real app on the in-memory model."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from app.contract.predict import PredictResponse
from tests.app.conftest import client_for, metrics_text, wait_ready


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    return body["error"]


def test_predict_records_matches_the_labels(api: TestClient, feature_rows, holdout_rows):
    response = api.post("/v1/predict", json={"rows": feature_rows[:50]})
    assert response.status_code == 200
    body = TypeAdapter(PredictResponse).validate_json(response.content)
    assert body["model_name"] == "breast-cancer-classifier" and body["model_version"] == "1"
    truth = [int(r["target"]) for r in holdout_rows[:50]]
    accuracy = sum(p == t for p, t in zip(body["predictions"], truth, strict=True)) / 50
    assert accuracy > 0.9
    for proba in body["probabilities"]:
        assert set(proba) == {"0", "1"} and math.isclose(sum(proba.values()), 1.0)
    assert body["request_id"] == response.headers["x-request-id"]


def test_predict_columns_and_data_in_any_order(api: TestClient, feature_rows):
    columns = list(reversed(feature_rows[0]))
    data = [[row[c] for c in columns] for row in feature_rows[:3]]
    split = api.post("/v1/predict", json={"columns": columns, "data": data}).json()
    records = api.post("/v1/predict", json={"rows": feature_rows[:3]}).json()
    assert split["predictions"] == records["predictions"]
    assert split["probabilities"] == records["probabilities"]


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda r: r.pop("mean_radius"), "rows[0].mean_radius", "required column is missing"),
        (lambda r: r.update(mean_radius="12.5"), "rows[0].mean_radius", "valid number"),
        (lambda r: r.update(mean_radius=True), "rows[0].mean_radius", "valid number"),
        (lambda r: r.update(mean_radius=None), "rows[0].mean_radius", "valid number"),
        (lambda r: r.update(mean_radius="NaN"), "rows[0].mean_radius", "valid number"),
        (lambda r: r.update(colour=1.0), "rows[0].colour", "not in the model signature"),
    ],
)
def test_bad_rows_get_422_naming_field_and_row(api, feature_rows, mutate, field, message):
    row = dict(feature_rows[0])
    mutate(row)
    response = api.post("/v1/predict", json={"rows": [row]})
    assert response.status_code == 422
    error = _error(response)
    assert field in [d["field"] for d in error["details"]]
    assert any(message in d["message"] for d in error["details"])


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused_in_raw_json(api, feature_rows, literal):
    names = list(feature_rows[0])
    values = ", ".join(f'"{n}": {literal if i == 2 else 1.0}' for i, n in enumerate(names))
    response = api.post(
        "/v1/predict",
        content=f'{{"rows": [{{{values}}}]}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert _error(response)["details"][0]["field"] == f"rows[0].{names[2]}"


def test_problems_in_several_rows_are_all_reported(api, feature_rows):
    rows = [dict(r) for r in feature_rows[:3]]
    rows[0].pop("mean_area")
    rows[2]["bogus"] = 1.0
    fields = [d["field"] for d in _error(api.post("/v1/predict", json={"rows": rows}))["details"]]
    assert fields == ["rows[0].mean_area", "rows[2].bogus"]


def test_extra_columns_can_be_ignored_by_setting(api_settings, keys, registry, feature_rows):
    settings = api_settings.model_copy(update={"extra_columns": "ignore"})
    with client_for(settings, keys.predict, registry) as client:
        wait_ready(client)
        row = {**feature_rows[0], "colour": 3.0}
        assert client.post("/v1/predict", json={"rows": [row]}).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b'{"rows": []}', 422, "invalid_input"),
        (b"{}", 422, "invalid_request"),
        (b'{"rows": [], "columns": ["a"], "data": [[1]]}', 422, "invalid_request"),
        (b'{"columns": ["a"]}', 422, "invalid_request"),
        (b'{"rows": {"a": 1}}', 422, "invalid_request"),
        (b"[1, 2]", 422, "invalid_request"),
        (b'{"rows": [{}], "debug": true}', 422, "invalid_request"),
    ],
)
def test_malformed_bodies(api: TestClient, body, status, code):
    response = api.post("/v1/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert _error(response)["code"] == code


def test_split_layout_errors(api: TestClient, feature_rows):
    columns = list(feature_rows[0])
    short = api.post("/v1/predict", json={"columns": columns, "data": [[1.0]]})
    assert _error(short)["details"][0]["field"] == "data[0]"
    missing = api.post("/v1/predict", json={"columns": columns[1:], "data": [[1.0] * 29]})
    assert _error(missing)["details"][0]["field"] == f"columns.{columns[0]}"
    dupes = api.post("/v1/predict", json={"columns": columns + columns[:1], "data": [[1.0] * 31]})
    assert "unique" in _error(dupes)["details"][0]["message"]


def test_row_and_body_limits_are_413(api_settings, keys, registry, feature_rows):
    settings = api_settings.model_copy(update={"max_rows": 5, "max_body_bytes": 8192})
    with client_for(settings, keys.predict, registry) as client:
        wait_ready(client)
        rows = client.post("/v1/predict", json={"rows": feature_rows[:6]})
        assert rows.status_code == 413 and _error(rows)["code"] == "too_many_rows"
        big = client.post(
            "/v1/predict",
            content=b'{"rows": [' + b" " * 9000 + b"]}",
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413 and _error(big)["code"] == "payload_too_large"


def test_metrics_count_requests_predictions_and_the_model(api: TestClient, feature_rows):
    api.post("/v1/predict", json={"rows": feature_rows[:4]})
    api.post("/v1/predict", json={"rows": [{}]})
    text = metrics_text(api)
    assert 'mlsys_http_requests_total{method="POST",route="/v1/predict",status="200"} 1.0' in text
    assert 'mlsys_http_requests_total{method="POST",route="/v1/predict",status="422"} 1.0' in text
    assert (
        'mlsys_model_info{alias="champion",engine="numpy-linear",'
        'name="breast-cancer-classifier",version="1"} 1.0'
    ) in text
    assert "mlsys_rows_per_request_count 1.0" in text
    predicted = sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith('mlsys_predictions_total{label="')
    )
    assert predicted == 4.0
    assert 'mlsys_prediction_score_bucket{le="+Inf"} 4.0' in text
    assert "mlsys_drift_window_rows 4.0" in text
    assert api.get("/metrics").status_code == 404  # only on the separate metrics port


def test_openapi_documents_the_real_request_and_response_models(api: TestClient):
    schema = api.get("/openapi.json").json()
    operation = schema["paths"]["/v1/predict"]["post"]
    body = operation["requestBody"]["content"]["application/json"]
    assert set(body["schema"]["properties"]) == {"rows", "columns", "data"}
    assert {"401", "403", "413", "422", "429", "503"} <= set(operation["responses"])
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/PredictResponse"}
    assert set(schema["components"]["schemas"]["PredictResponse"]["properties"]) == {
        "model_name",
        "model_version",
        "request_id",
        "predictions",
        "probabilities",
    }
    for path in ("/invocations", "/v2/models/{name}/infer", "/v1/model", "/admin/reload"):
        assert path in schema["paths"]


def test_no_stack_trace_leaks_from_an_unexpected_error(api: TestClient, monkeypatch, feature_rows):
    def explode(_matrix):
        raise RuntimeError("secret internal detail")

    swapper = api.app.state.mlsys.swapper
    broken = replace(
        swapper.current, compiled=replace(swapper.current.compiled, predict_proba=explode)
    )
    monkeypatch.setattr(swapper, "_current", broken)
    client = TestClient(api.app, raise_server_exceptions=False, headers=dict(api.headers))
    response = client.post("/v1/predict", json={"rows": feature_rows[:1]})
    assert response.status_code == 500
    assert _error(response)["code"] == "internal_error"
    assert "secret" not in response.text and "Traceback" not in response.text


# Finite inputs that broke the model (issue 8, part 4).
FLOAT32_MAX = 3.4028234663852886e38


@pytest.fixture
def forest_api(api_settings, keys, dataset, tmp_path):
    """The scikit-learn path: a random forest, which casts its input to float32."""
    from sklearn.ensemble import RandomForestClassifier

    from tests.app.registry_double import InMemoryRegistry, write_model_folder

    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0)
    forest.fit(dataset.train, dataset.train_labels)
    registry = InMemoryRegistry()
    folder = write_model_folder(tmp_path / "forest", forest, dataset.names, dataset.train)
    registry.set_alias("champion", registry.publish(folder))
    with client_for(api_settings, keys.predict, registry) as client:
        wait_ready(client)
        yield client


@pytest.mark.parametrize("path", ["fast", "sklearn"])
@pytest.mark.parametrize(
    ("value", "columns"),
    [(1e39, ["mean_smoothness"]), (1e308, None), (-1e308, ["mean_area"]), (3.5e38, None)],
)
def test_values_beyond_float32_are_refused_naming_field_and_row(
    api, forest_api, feature_rows, path, value, columns
):
    client = api if path == "fast" else forest_api
    rows = [dict(row) for row in feature_rows[:3]]
    for name in columns or list(rows[1]):
        rows[1][name] = value
    response = client.post("/v1/predict", json={"rows": rows})
    assert response.status_code == 422, response.text
    error = _error(response)
    assert error["code"] == "invalid_input"
    fields = [d["field"] for d in error["details"]]
    assert fields[0] == f"rows[1].{(columns or list(rows[1]))[0]}"
    assert "float32" in error["details"][0]["message"]
    assert "mlsys_prediction_score_sum 0.0" in metrics_text(client)


def _edge_rows(client: TestClient, names: list[str]) -> list[dict[str, float]]:
    """Rows on the bounds the served model accepts (training range plus margin, or float32)."""
    low, high = client.app.state.mlsys.swapper.current.bounds  # type: ignore[attr-defined]
    pick = np.random.default_rng(0).integers(0, 2, size=(40, len(names))).astype(bool)
    matrix = np.vstack([low, high, np.where(pick, high, low)])
    return [dict(zip(names, row, strict=True)) for row in matrix.tolist()]


@pytest.mark.parametrize("margin", [10.0, "off"])
def test_the_largest_accepted_values_score_finitely_and_both_engines_agree(
    api_settings, keys, registry, forest_api, dataset, margin
):
    """On the edge of what the contract accepts, the compiled path and scikit-learn agree."""
    settings = api_settings.model_copy(update={"input_bounds_margin": margin})
    with client_for(settings, keys.predict, registry) as api:
        wait_ready(api)
        model = api.app.state.mlsys.swapper.current  # type: ignore[attr-defined]
        assert model.compiled.engine == "numpy-linear"
        assert (model.bounds[1][0] == FLOAT32_MAX) == (margin == "off")
        rows = _edge_rows(api, dataset.names)
        fast = api.post("/v1/predict", json={"rows": rows})
        assert fast.status_code == 200, fast.text
        matrix = np.array([[r[n] for n in dataset.names] for r in rows])
        expected = model.compiled.estimator.predict_proba(matrix)
        got = np.array([[p["0"], p["1"]] for p in fast.json()["probabilities"]])
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
        assert "NaN" not in metrics_text(api).split("mlsys_prediction_score_sum")[1].split("\n")[0]
    forest = forest_api.post("/v1/predict", json={"rows": _edge_rows(forest_api, dataset.names)})
    assert forest.status_code == 200, forest.text
    assert np.all(np.isfinite([list(p.values()) for p in forest.json()["probabilities"]]))


@pytest.mark.parametrize("route", ["predict", "invocations", "oip"])
def test_a_value_past_the_training_bounds_is_refused_on_every_route(api, feature_rows, route):
    rows = [dict(row) for row in feature_rows[:3]]
    rows[2]["mean_area"] = 1e6  # finite as float32, but 40x the largest training area
    names = list(rows[0])
    data = [[row[n] for n in names] for row in rows]
    if route == "predict":
        response = api.post("/v1/predict", json={"rows": rows})
    elif route == "invocations":
        response = api.post("/invocations", json={"dataframe_records": rows})
    else:
        tensor = {"name": "x", "shape": [3, len(names)], "datatype": "FP64", "data": data}
        response = api.post("/v2/models/breast-cancer-classifier/infer", json={"inputs": [tensor]})
    assert response.status_code == 422, response.text
    [detail] = _error(response)["details"]
    prefix = "data" if route == "oip" else "rows"
    assert detail["field"] == f"{prefix}[2].mean_area"
    assert "the bounds this model takes" in detail["message"]


def test_a_model_output_that_is_not_finite_is_refused_and_never_counted(api, feature_rows):
    model = api.app.state.mlsys.swapper.current  # type: ignore[attr-defined]
    broken = replace(
        model,
        compiled=replace(model.compiled, predict_proba=lambda x: np.full((len(x), 2), np.nan)),
    )
    api.app.state.mlsys.swapper._current = broken  # type: ignore[attr-defined]
    response = api.post("/v1/predict", json={"rows": feature_rows[:2]})
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "unscorable_input"
    assert [d["field"] for d in error["details"]] == ["rows[0]", "rows[1]"]
    text = metrics_text(api)
    assert "mlsys_prediction_score_sum 0.0" in text and "mlsys_prediction_score_count 0.0" in text


def test_error_details_are_capped_before_they_are_built(api, feature_rows, monkeypatch):
    """400 rows with 90 unknown keys each used to build 36,000 details, then cut to 50."""
    import app.contract.input_matrix as input_matrix

    built = [0]
    real = input_matrix.ErrorDetail

    def counting(*args, **kwargs):
        built[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(input_matrix, "ErrorDetail", counting)
    row = {**feature_rows[0], **{f"u{k}": 1 for k in range(90)}}
    response = api.post("/v1/predict", json={"rows": [row] * 400})
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert len(details) == 51 and details[-1]["message"] == "... and 35950 more problem(s)"
    assert built[0] <= 51


def test_probabilities_are_keyed_by_class_for_two_classes_and_for_more():
    from app.routes.predict import _by_class

    assert _by_class(["no", "yes"], [[0.25, 0.75]]) == [{"no": 0.25, "yes": 0.75}]
    three = _by_class(["a", "b", "c"], [[0.5, 0.25, 0.25], [0.0, 0.0, 1.0]])
    assert three == [{"a": 0.5, "b": 0.25, "c": 0.25}, {"a": 0.0, "b": 0.0, "c": 1.0}]
    assert _by_class(["only"], [[1.0]]) == [{"only": 1.0}]
