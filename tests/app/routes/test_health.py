"""Liveness and readiness: up without a model, ready once one is loaded, not while draining."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.conftest import client_for, wait_ready
from tests.app.registry_double import InMemoryRegistry


def test_health_is_up_without_a_model(api_settings, keys):
    with client_for(api_settings, keys.predict, InMemoryRegistry()) as client:  # no versions
        assert client.get("/healthz").json() == {"status": "ok"}


def test_readiness_before_and_after_load(api_settings, keys, registry):
    settings = api_settings.model_copy(update={"model_alias": "staging_candidate"})
    with client_for(settings, keys.predict, registry) as client:
        refused = client.get("/readyz")
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "model_not_ready"
        assert refused.headers["retry-after"] == "5"
        assert client.post("/v1/predict", json={"rows": [{}]}).status_code == 503
        assert client.get("/v2/health/ready").status_code == 503
        registry.set_alias("staging_candidate", "1")
        wait_ready(client)
        ready = client.get("/readyz").json()
        assert ready == {"status": "ready", "model_name": settings.model_name, "model_version": "1"}


def test_readiness_fails_while_draining_but_requests_are_still_served(
    api: TestClient, feature_rows
):
    api.app.state.mlsys.draining.set()
    error = api.get("/readyz").json()["error"]
    assert error["code"] == "draining"
    assert api.get("/v2/health/ready").status_code == 503
    assert api.post("/v1/predict", json={"rows": feature_rows[:1]}).status_code == 200


def test_readiness_names_the_model_only_to_a_caller_with_a_key(api: TestClient, api_settings):
    """Probes need the status alone; anyone could learn the served model from /readyz."""
    name = api_settings.model_name
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer mlsk_not-a-key"}):
        anonymous = api.get("/readyz", headers=headers)
        assert anonymous.status_code == 200
        assert anonymous.json() == {"status": "ready"} and name not in anonymous.text
    assert api.get("/readyz").json()["model_name"] == name
    for path in ("/healthz", "/v2/health/live", "/v2/health/ready"):
        assert name not in api.get(path, headers={"Authorization": ""}).text
