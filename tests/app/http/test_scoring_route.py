"""The scoring-route declaration: auth first, then model, body and row count, in one typed value."""

from __future__ import annotations

import orjson
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from typing_extensions import TypedDict

from app.contract.mlflow_invocations import InvocationsRequest
from app.contract.open_inference import InferRequest
from app.contract.predict import PredictRequest
from app.http.request_body import INLINE_PARSE_BYTES
from app.http.scoring_route import Scoring, ScoringDispatch, ScoringRoute, scoring_route
from app.routes import mlflow_invocations, open_inference, predict
from app.wiring.state import AppState
from tests.app.conftest import client_for, metrics_text, wait_ready
from tests.app.registry_double import NAME, InMemoryRegistry

ROUTERS = (predict.router, mlflow_invocations.router, open_inference.keyed_router)
SCORING = {
    "/v1/predict": (PredictRequest, "PredictResponse"),
    "/invocations": (InvocationsRequest, "InvocationsResponse"),
    "/v2/models/{name}/infer": (InferRequest, "InferResponse"),
}


class Echo(TypedDict):
    rows: int
    key_id: str
    version: str
    request_id: str | None
    scope_name: str


@pytest.fixture
def echo_client(api: TestClient, keys) -> TestClient:
    router = APIRouter()

    @scoring_route(router, "/echo/{scope_name}", scope="admin", body=PredictRequest, response=Echo)
    async def echo(call: Scoring[PredictRequest], scope_name: str) -> Echo:
        return {
            "rows": call.rows,
            "key_id": call.key.key_id,
            "version": call.model.version.version,
            "request_id": call.request_id,
            "scope_name": scope_name,
        }

    api.app.include_router(router)
    return TestClient(api.app, headers=keys.bearer(keys.admin))


def test_the_handler_gets_one_resolved_value(echo_client: TestClient):
    response = echo_client.post(
        "/echo/x", json={"columns": ["a"], "data": [[1.0], [2.0]]}, headers={"X-Request-ID": "r-9"}
    )
    assert response.json() == {
        "rows": 2,
        "key_id": "operator",
        "version": "1",
        "request_id": "r-9",
        "scope_name": "x",
    }


def test_every_scoring_route_is_declared_with_a_scope():
    routers = (predict.router, mlflow_invocations.router, open_inference.router)
    routes = [route for router in routers for route in router.routes]
    declared = {r.path: r.declaration for r in routes if isinstance(r, ScoringRoute)}
    assert set(declared) == set(SCORING)
    assert {d.scope for d in declared.values()} == {"predict"}


@pytest.mark.parametrize("path", ["/v1/predict", "/invocations", "/v2/models/x/infer"])
def test_no_key_is_refused_before_anything_else(api_settings, path):
    with client_for(api_settings, None, InMemoryRegistry()) as client:  # no model either
        response = client.post(path, content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/v1/predict", "/invocations", "/v2/models/x/infer"])
def test_no_model_is_503_before_the_body_is_read(api_settings, keys, path):
    with client_for(api_settings, keys.predict, InMemoryRegistry()) as client:
        response = client.post(path, content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "model_not_ready"


@pytest.mark.parametrize(("path", "models"), SCORING.items())
def test_openapi_comes_from_the_declared_models(api: TestClient, path, models):
    body_model, response_name = models
    operation = api.get("/openapi.json").json()["paths"][path]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == set(body_model.model_fields)
    assert body.get("required", []) == body_model.model_json_schema().get("required", [])
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": f"#/components/schemas/{response_name}"}
    assert {"401", "403", "413", "422", "429", "503"} <= set(operation["responses"])


def test_rows_are_counted_before_the_matrix_is_built(api_settings, keys, registry):
    settings = api_settings.model_copy(update={"max_rows": 2})
    with client_for(settings, keys.predict, registry) as client:
        wait_ready(client)
        # Three rows that would each fail the signature: the limit answers first.
        response = client.post("/v1/predict", json={"rows": [{"x": 1.0}] * 3})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_many_rows"


# One request must not stall the server (issue 8, part 3).


V = 1.2345678  # nine characters a value: 1,001 rows of 30 make a body past the inline size


def _forbid_parsing(monkeypatch):
    import app.http.request_body as request_body

    def parse(*_args, **_kwargs):
        raise AssertionError("the whole body was parsed before its rows were counted")

    monkeypatch.setattr(request_body, "parse_body", parse)


@pytest.mark.parametrize(
    "body",
    [
        b'{"rows": [' + b",".join([b"{}"] * 300_000) + b"]}",
        b'{"columns": ["a"], "data": [' + b",".join([b"[]"] * 300_000) + b"]}",
    ],
    ids=["records", "split"],
)
def test_the_row_limit_is_checked_before_the_body_is_parsed(api, monkeypatch, body):
    _forbid_parsing(monkeypatch)
    settings = api.app.state.mlsys.settings  # type: ignore[attr-defined]
    response = api.post(
        "/v1/predict",
        content=body,
        headers={"content-type": "application/json", "content-length": str(len(body))},
    )
    assert len(body) < settings.max_body_bytes
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_many_rows"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/predict", {"columns": ["a"] * 30, "data": [[V] * 30] * 1001}),
        ("/invocations", {"instances": [[V] * 30] * 1001}),
        ("/invocations", {"dataframe_split": {"columns": ["a"], "data": [[V] * 30] * 1001}}),
        ("/invocations", {"inputs": {f"c{i}": [V] * 1001 for i in range(30)}}),
        (
            "/v2/models/breast-cancer-classifier/infer",
            {
                "inputs": [
                    {"name": "x", "shape": [1001, 30], "datatype": "FP64", "data": [V] * 30030}
                ]
            },
        ),
    ],
)
def test_every_protocol_counts_rows_before_parsing(api, monkeypatch, path, body):
    """Large bodies: the rows are counted by a fast JSON scan before the model parses them."""
    _forbid_parsing(monkeypatch)
    assert len(orjson.dumps(body)) > INLINE_PARSE_BYTES
    response = api.post(path, json=body)
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_many_rows"


def test_a_large_body_is_parsed_off_the_event_loop(api, monkeypatch, feature_rows):
    import threading

    import app.http.request_body as route_module

    threads: list[str] = []
    real = route_module.parse_body

    def parse(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(route_module, "parse_body", parse)
    loop_thread: list[str] = []

    @api.app.get("/which-thread")  # type: ignore[attr-defined]
    async def which() -> dict[str, str]:
        loop_thread.append(threading.current_thread().name)
        return {}

    api.get("/which-thread")
    # Columns plus data: records right for the model skip parse_body (the records decoder).
    names = list(feature_rows[0])
    split = {"columns": names, "data": [[row[n] for n in names] for row in feature_rows[:2]]}
    assert api.post("/v1/predict", json=split).status_code == 200
    assert api.post("/v1/predict", json={"rows": feature_rows * 4}).status_code == 200
    small, large = threads
    assert small == loop_thread[0]  # small bodies stay inline: no hand-off on the hot path
    assert large != loop_thread[0]


def test_records_right_for_the_model_take_the_decoder_and_others_the_general_path(
    api, monkeypatch, feature_rows
):
    from app.contract.records_decoder import RecordsDecoder

    outcomes: list[bool] = []
    real = RecordsDecoder.decode

    def decode(self, body):
        matrix = real(self, body)
        outcomes.append(matrix is not None)
        return matrix

    monkeypatch.setattr(RecordsDecoder, "decode", decode)
    fast = api.post("/v1/predict", json={"rows": feature_rows[:3]})
    assert fast.status_code == 200 and len(fast.json()["predictions"]) == 3
    flawed = [dict(feature_rows[0]), dict(feature_rows[1])]
    flawed[1][next(iter(flawed[1]))] = True
    refused = api.post("/v1/predict", json={"rows": flawed})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"].startswith("rows[1].")
    assert outcomes == [True, False]
    # The same rows through the general path (columns plus data) get the same answer.
    names = list(feature_rows[0])
    split = {"columns": names, "data": [[row[n] for n in names] for row in feature_rows[:3]]}
    general = api.post("/v1/predict", json=split).json()
    assert general["probabilities"] == fast.json()["probabilities"]


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths that ScoringDispatch served itself, bypassing FastAPI's routing."""
    served: list[str] = []
    direct = ScoringDispatch._score

    async def recording(scope, receive, send) -> None:
        served.append(scope["path"])
        await direct(scope, receive, send)

    monkeypatch.setattr(ScoringDispatch, "_score", staticmethod(recording))
    return served


def test_exact_scoring_paths_are_dispatched_and_served_like_routed_ones(
    api_settings, keys, registry, feature_rows, dispatched
):
    with client_for(api_settings, keys.predict, registry) as client:
        wait_ready(client)
        ok = client.post("/v1/predict", json={"rows": feature_rows[:2]})
        invocations = client.post("/invocations", json={"dataframe_records": feature_rows[:1]})
        # The same refusals as on FastAPI's path: the app's handlers answer them.
        invalid = client.post("/v1/predict", json={"rows": [{"nope": 1}]})
        malformed = client.post(
            "/v1/predict", content=b"{", headers={"Content-Type": "application/json"}
        )
        unkeyed = client.post(
            "/v1/predict", json={"rows": feature_rows[:1]}, headers={"Authorization": ""}
        )
        # Routed as before: a path parameter, another method, a stray slash.
        infer = client.post(
            f"/v2/models/{NAME}/infer",
            json={
                "inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": [1.0] * 30}]
            },
        )
        wrong_method = client.get("/v1/predict")
        stray_slash = client.post("/v1/predict/", json={"rows": feature_rows[:1]})
        metrics = metrics_text(client)
    assert dispatched == ["/v1/predict", "/invocations"] + ["/v1/predict"] * 3
    assert ok.status_code == 200 and len(ok.json()["predictions"]) == 2
    assert invocations.status_code == 200
    for response, status, code in (
        (invalid, 422, "invalid_input"),
        (malformed, 400, "invalid_json"),
        (unkeyed, 401, "unauthenticated"),
        (wrong_method, 405, "method_not_allowed"),
        (stray_slash, 404, "not_found"),
    ):
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
        assert response.json()["error"]["request_id"] == response.headers["x-request-id"]
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert infer.status_code == 200 and infer.json()["model_name"] == NAME
    # Metrics and access logs name the route by its template, as for routed requests.
    assert (
        'mlsys_http_requests_total{method="POST",route="/v1/predict",status="200"} 1.0' in metrics
    )
    assert 'route="/v1/predict",status="422"' in metrics


def test_an_unexpected_error_is_a_500_with_the_request_id_and_security_headers(
    api_settings, keys, registry, feature_rows, dispatched, monkeypatch, caplog
):
    with client_for(api_settings, keys.predict, registry) as client:
        wait_ready(client)

        async def broken(*args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(AppState, "score", broken)
        # The error is answered inside the app: the test client sees a response, not a raise.
        answers = [
            client.post("/v1/predict", json={"rows": feature_rows[:1]}),
            client.post(
                f"/v2/models/{NAME}/infer",
                json={
                    "inputs": [
                        {"name": "x", "shape": [1, 30], "datatype": "FP64", "data": [0.5] * 30}
                    ]
                },
            ),
        ]
        metrics = metrics_text(client)
    assert dispatched == ["/v1/predict"]  # one dispatched, one routed by FastAPI
    for response in answers:
        assert response.status_code == 500
        error = response.json()["error"]
        assert error["code"] == "internal_error" and "boom" not in response.text
        assert error["request_id"] == response.headers["x-request-id"]
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["cache-control"] == "no-store"
    logged = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert [r.request_id for r in logged] == [r.headers["x-request-id"] for r in answers]  # type: ignore[attr-defined]
    assert all(r.exc_info and "boom" in str(r.exc_info[1]) for r in logged)
    assert 'route="/v1/predict",status="500"' in metrics


def test_the_dispatch_table_is_the_scoring_routes_without_path_parameters(api: TestClient):
    dispatch = ScoringDispatch(api.app, ROUTERS, {})
    assert set(dispatch.routes) == {"/v1/predict", "/invocations"}
    assert set(dispatch.routes) <= set(api.app.openapi()["paths"])
