"""GET /v1/model describes the served version; POST /admin/reload checks the registry now."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from app.contract.model_info import ModelInfo
from tests.app.conftest import client_for, wait_ready

NAME = "breast-cancer-classifier"


def test_model_info_describes_what_is_served(api: TestClient):
    response = api.get("/v1/model")
    info = response.json()
    TypeAdapter(ModelInfo).validate_json(response.content)
    assert info["name"] == NAME and info["version"] == "1" and info["alias"] == "champion"
    assert info["metrics"]["roc_auc"] > 0.97
    assert len(info["dataset_sha256"]) == 64 and len(info["artifact_sha256"]) == 64
    assert info["signature"]["inputs"][0] == {
        "name": "mean_radius",
        "type": "double",
        "required": True,
    }
    assert info["signature"]["classes"] == ["0", "1"]
    assert info["engine"] == "numpy-linear" and info["drift_reference"] is True
    assert info["run_id"] and info["loaded_at"]
    # The model card training stored with the run (issue 9), as an MLflow artifact URI.
    assert info["model_card_uri"] == f"runs:/{info['run_id']}/model_card.md"
    assert info["git_commit"] == "0123abc"


def test_reload_swaps_in_a_moved_alias_and_reports_the_outcome(
    api_settings, keys, registry, weak_folder
):
    with client_for(api_settings, keys.admin, registry) as client:
        wait_ready(client)
        assert client.post("/admin/reload").json() == {
            "outcome": "unchanged",
            "model_version": "1",
            "error": None,
        }
        registry.set_alias("champion", registry.publish(weak_folder))
        assert client.post("/admin/reload").json() == {
            "outcome": "loaded",
            "model_version": "2",
            "error": None,
        }
        assert client.get("/readyz").json()["model_version"] == "2"
