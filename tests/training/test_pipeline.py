"""The whole lifecycle on temporary stores: register, promote, refuse, roll forward."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
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
    MODEL_CARD_FILE,
    MODEL_FILE,
    PREVIOUS,
    REASON_TAG,
    sha256_file,
)
from training.config import load_config
from training.pipeline import run_all, step_ingest, step_train, step_validate
from training.provenance import FINGERPRINT_TAG, GIT_DIRTY_TAG, SHIFT_TAG
from training.reevaluate import reevaluate
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
    assert run.data.tags["dvc.rev"] == "none"
    assert run.data.tags[GIT_DIRTY_TAG] in ("true", "false")
    assert tags[FINGERPRINT_TAG] == run.data.tags[FINGERPRINT_TAG]


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
    # Another max_iter: the same converged model, but not an unchanged re-run.
    config = load_config(overrides={"model": {"params": {"max_iter": 3000}}})
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


def test_the_run_records_its_data_so_any_version_can_be_re_evaluated(trained_home: Path):
    config = load_config()
    client = _client(config)
    champion = _alias(config, CHAMPION)
    run = client.get_run(champion.run_id)
    inputs = {_context(i): i.dataset for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"training", "holdout"}
    sha = run.data.tags[DATASET_SHA_TAG]
    assert inputs["training"].digest == sha[:32]
    assert inputs["training"].source_type == "local"
    again = reevaluate(config, "1")
    assert again["dataset_sha256"] == sha and again["holdout_rows"] == 143
    for name, value in again["recorded"].items():
        assert again["metrics"][name] == pytest.approx(value, abs=1e-6)
    assert reevaluate(config, "champion")["version"] == "1"
    card_path = Path(client.download_artifacts(champion.run_id, MODEL_CARD_FILE, str(trained_home)))
    card = card_path.read_text()
    for heading in (
        "# Model card: breast-cancer-classifier v1",
        "## Data",
        "## Training parameters",
        "## Holdout metrics",
        "## Comparison with the champion",
        "## Drift",
        "## Known limits",
    ):
        assert heading in card, heading
    assert sha in card and "bootstrap CI" in card and "Decision: **promoted**" in card


def _context(dataset_input) -> str:
    return {tag.key: tag.value for tag in dataset_input.tags}["mlflow.data.context"]


def test_an_unchanged_re_run_registers_nothing(trained_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GIT_DIRTY", "false")
    config = load_config()
    result = run_all(config, Workspace(trained_home / "work-again"))
    assert result.registered.unchanged and result.registered.version == "1"
    assert not result.decision.changed
    assert "unchanged re-run of v1" in result.decision.render()
    client = _client(config)
    assert [str(v.version) for v in client.search_model_versions(f"name='{NAME}'")] == ["1"]
    # A dirty tree cannot prove the code is the same: it registers.
    monkeypatch.setenv("GIT_DIRTY", "true")
    assert not run_all(config, Workspace(trained_home / "work-dirty")).registered.unchanged


def test_shifted_data_is_refused_unless_the_shift_is_accepted(trained_home: Path, tmp_path: Path):
    frame = pd.read_csv(trained_home / "work" / "dataset.csv")
    names = load_config().dataset.feature_names
    frame[names] = frame[names] * 1.4
    shifted = tmp_path / "shifted.csv"
    frame.to_csv(shifted, index=False)
    config = load_config(overrides={"dataset": {"uri": str(shifted)}})
    with pytest.raises(DatasetValidationError) as caught:
        run_all(config, Workspace(trained_home / "work-shift"))
    drift = [v for v in caught.value.report.violations if v.check == "drift"]
    assert drift and all("against champion v1's reference" in v.message for v in drift)
    reason = "new scanner calibration"
    accepted = load_config(
        overrides={"dataset": {"uri": str(shifted)}, "checks": {"accept_shift": reason}}
    )
    result = run_all(accepted, Workspace(trained_home / "work-shift"))
    run = _client(accepted).get_run(_run_of(accepted, result))
    assert run.data.tags[SHIFT_TAG] == reason
    assert result.decision.promoted, result.decision.render()


def _run_of(config, result) -> str:
    return _client(config).get_model_version(NAME, result.registered.version).run_id


def test_a_sharp_drop_of_the_champion_without_drift_is_a_data_problem(
    trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Labels scrambled for a third of the rows: features look the same, the champion collapses.
    frame = pd.read_csv(trained_home / "work" / "dataset.csv")
    frame.loc[frame.index % 3 == 0, "target"] = 1 - frame.loc[frame.index % 3 == 0, "target"]
    noisy = tmp_path / "noisy.csv"
    frame.to_csv(noisy, index=False)
    config = load_config(
        overrides={
            "dataset": {"uri": str(noisy)},
            "promotion": {"thresholds": {"accuracy": 0.5}, "champion_drop": 0.05},
        }
    )
    result = run_all(config, Workspace(trained_home / "work-noisy"))
    assert not result.decision.promoted
    assert any(r.startswith("data problem: champion v1") for r in result.decision.reasons)
    assert str(_alias(config, CHAMPION).version) == "1"
