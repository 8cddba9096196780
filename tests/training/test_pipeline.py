"""The whole lifecycle on temporary stores: register, promote, refuse, roll forward."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from app.model_contract import (
    ARTIFACT_SHA_TAG,
    CHALLENGER,
    CHAMPION,
    DATASET_SHA_TAG,
    FEATURES_TAG,
    GIT_COMMIT_TAG,
    METRIC_TAG_PREFIX,
    MLMODEL_FILE,
    MODEL_FILE,
    PREVIOUS,
    REASON_TAG,
    sha256_file,
)
from training.config import load_config
from training.pipeline import run_all, step_ingest, step_train, step_validate
from training.registry import resolve_alias
from training.tracking import configure
from training.validate import DatasetValidationError
from training.workspace import StepOrderError, Workspace

pytestmark = pytest.mark.slow
NAME = "breast-cancer-classifier"


def _client(config) -> MlflowClient:
    configure(config.experiment)
    return MlflowClient()


def _alias(config, alias: str) -> ModelVersion | None:
    return resolve_alias(_client(config), NAME, alias)


def test_first_run_registers_and_crowns_a_champion(mlsys_home: Path, config):
    result = run_all(config, Workspace(mlsys_home / "work"))
    assert result.decision.promoted
    client = _client(config)
    champion = _alias(config, CHAMPION)
    assert champion is not None and str(champion.version) == "1"
    tags = champion.tags
    assert len(tags[DATASET_SHA_TAG]) == 64
    assert tags[GIT_COMMIT_TAG]
    assert float(tags[f"{METRIC_TAG_PREFIX}roc_auc"]) > 0.97
    assert tags[FEATURES_TAG].split(",")[0] == "mean_radius"
    # The recorded hash is the hash of the artifact the registry serves.
    served = Path(client.get_model_version_download_uri(NAME, "1").removeprefix("file://"))
    assert sha256_file(served / MODEL_FILE) == tags[ARTIFACT_SHA_TAG]
    assert (served / MLMODEL_FILE).read_text().count("skops") >= 1
    run = client.get_run(champion.run_id)
    assert run.data.params["model_kind"] == "logistic_regression"
    assert {"accuracy", "f1", "roc_auc"} <= set(run.data.metrics)
    artifacts = [a.path for a in client.list_artifacts(champion.run_id, "evaluation")]
    assert artifacts == ["evaluation/confusion_matrix.png"]


def test_worse_model_is_refused_and_the_champion_stays(trained_home: Path):
    worse = load_config(overrides={"model": {"params": {"C": 0.0005}}})
    result = run_all(worse, Workspace(trained_home / "work-worse"))
    assert not result.decision.promoted
    assert str(_alias(worse, CHAMPION).version) == "1"
    challenger = _alias(worse, CHALLENGER)
    assert challenger is not None and str(challenger.version) == "2"
    assert "below the threshold" in challenger.tags[REASON_TAG]
    assert _alias(worse, PREVIOUS) is None


def test_regression_alone_blocks_promotion(trained_home: Path):
    # Passes the absolute gates but is measurably worse than the champion on the same rows.
    slightly_worse = load_config(
        overrides={
            "model": {"kind": "random_forest", "params": {"n_estimators": 3, "max_depth": 2}},
            "promotion": {
                "thresholds": {"accuracy": 0.5, "f1": 0.5, "roc_auc": 0.5},
                "tolerance": 0.0,
            },
        }
    )
    result = run_all(slightly_worse, Workspace(trained_home / "work-rf"))
    assert not result.decision.promoted
    assert result.decision.champion_version == "1"
    assert all("regresses against champion" in r for r in result.decision.reasons)
    assert str(_alias(slightly_worse, CHAMPION).version) == "1"


def test_equal_model_is_promoted_and_the_old_champion_becomes_previous(trained_home: Path):
    config = load_config()
    result = run_all(config, Workspace(trained_home / "work-again"))
    assert result.decision.promoted
    assert str(_alias(config, CHAMPION).version) == "2"
    assert str(_alias(config, PREVIOUS).version) == "1"
    assert "Candidate v2 vs champion v1".lower() in result.decision.render().lower()


def test_invalid_dataset_stops_before_anything_is_registered(trained_home: Path, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    lines = (trained_home / "work" / "dataset.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    broken = [r.replace(r.split(",")[0], "-5", 1) if i < 3 else r for i, r in enumerate(rows)]
    bad.write_text("\n".join([header + ",extra", *[r + ",1" for r in broken[:150]]]) + "\n")
    config = load_config(overrides={"dataset": {"uri": str(bad)}})
    with pytest.raises(DatasetValidationError) as caught:
        run_all(config, Workspace(trained_home / "work-bad"))
    checks = {v.check for v in caught.value.report.violations}
    assert checks == {"schema", "row_count", "range"}
    client = _client(config)
    assert [str(v.version) for v in client.search_model_versions(f"name='{NAME}'")] == ["1"]


def test_train_refuses_data_that_did_not_pass_validation(mlsys_home: Path, config):
    ws = Workspace(mlsys_home / "work")
    step_ingest(config, ws)
    with pytest.raises(StepOrderError, match="validate"):
        step_train(config, ws)
    step_validate(config, ws)
    (ws.root / "ingest.json").write_text(
        (ws.root / "ingest.json").read_text().replace('"sha256": "', '"sha256": "0')
    )
    with pytest.raises(StepOrderError, match="not passed validation"):
        step_train(config, ws)
