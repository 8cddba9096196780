"""The pipeline's own model, served from the embedded MLflow store through the library (slow)."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from app.model_contract import CHAMPION
from tests.app.conftest import client_for, wait_ready

pytestmark = pytest.mark.slow
NAME = "breast-cancer-classifier"


def test_the_champion_loads_from_the_store_and_predicts(store_settings, keys, trained_home):
    with client_for(store_settings, keys.predict) as client:
        wait_ready(client)
        holdout = (trained_home / "work" / "holdout.csv").read_text().splitlines()
        names = holdout[0].split(",")
        rows, truth = [], []
        for line in holdout[1:51]:
            row = dict(zip(names, map(float, line.split(",")), strict=True))
            truth.append(int(row.pop("target")))
            rows.append(row)
        body = client.post("/v1/predict", json={"rows": rows}).json()
        accuracy = sum(p == t for p, t in zip(body["predictions"], truth, strict=True)) / 50
        assert body["model_version"] == "1" and accuracy > 0.9
        info = client.get("/v1/model").json()
        assert info["alias"] == CHAMPION and info["metrics"]["roc_auc"] > 0.97
        assert len(info["dataset_sha256"]) == 64 and len(info["artifact_sha256"]) == 64
        assert info["engine"] == "numpy-linear" and info["drift_reference"] is True


def test_readiness_follows_an_alias_set_in_the_store(store_settings, keys):
    settings = store_settings.model_copy(update={"model_alias": "staging_candidate"})
    with client_for(settings, keys.predict) as client:
        assert client.get("/readyz").status_code == 503
        uri = client.app.state.mlsys.swapper.registry_uri
        MlflowClient(tracking_uri=uri, registry_uri=uri).set_registered_model_alias(
            NAME, "staging_candidate", "1"
        )
        wait_ready(client)
        assert client.get("/readyz").json()["model_version"] == "1"
