"""The six steps over a workspace, so the CLI, a local run and Airflow pods behave the same."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import skops.io as sio
from mlflow import MlflowClient

from app.model_contract import (
    DATASET_SHA_TAG,
    GIT_COMMIT_TAG,
    INPUT_EXAMPLE_FILE,
    build_reference,
    load_model,
    sha256_file,
)
from training import evaluate as evaluation
from training.config import PipelineConfig
from training.ingest import ingest
from training.promote import Decision, promote
from training.register import Registered, register
from training.registry import RegistryError, download_file, resolve_alias
from training.tracking import configure, git_commit
from training.train import features, hyper_parameters, split_dataset, train
from training.validate import DatasetValidationError, ValidationReport, validate
from training.workspace import StepOrderError, Workspace


def _load_dataset(ws: Workspace) -> pd.DataFrame:
    ws.read("ingest")
    return pd.read_csv(ws.dataset)


def step_ingest(config: PipelineConfig, ws: Workspace) -> dict[str, Any]:
    ws.clear()
    result = ingest(config.dataset.uri, config.dataset.label, ws.dataset)
    summary = {"source": result.source, "sha256": result.sha256, "rows": result.rows}
    ws.write("ingest", summary)
    return summary


def step_validate(config: PipelineConfig, ws: Workspace) -> ValidationReport:
    frame = _load_dataset(ws)
    report = validate(frame, config.dataset)
    ws.write("validate", {**report.to_dict(), "sha256": ws.read("ingest")["sha256"]})
    if not report.ok:
        raise DatasetValidationError(report)
    return report


def step_train(config: PipelineConfig, ws: Workspace) -> dict[str, Any]:
    ingested = ws.read("ingest")
    checked = ws.read("validate")
    if not checked["ok"] or checked["sha256"] != ingested["sha256"]:
        raise StepOrderError("the ingested dataset has not passed validation; refusing to train")
    frame = _load_dataset(ws)
    split = split_dataset(frame, config.dataset, config.split)
    model = train(split.train, config.dataset, config.model, config.split.seed)
    sio.dump(model, ws.model)
    split.holdout.to_csv(ws.holdout, index=False)
    reference = build_reference(features(split.train, config.dataset), config.dataset.feature_names)
    ws.reference.write_text(json.dumps(reference))
    experiment_id = configure(config.experiment)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(hyper_parameters(config.model, config.split.seed))
        mlflow.log_params(
            {"split.test_size": config.split.test_size, "split.seed": config.split.seed}
        )
        mlflow.set_tags(
            {
                DATASET_SHA_TAG: ingested["sha256"],
                "dataset_source": ingested["source"],
                "dataset_rows": str(ingested["rows"]),
                GIT_COMMIT_TAG: git_commit(),
            }
        )
    summary = {
        "run_id": run.info.run_id,
        "model_sha256": sha256_file(ws.model),
        "train_rows": len(split.train),
        "holdout_rows": len(split.holdout),
    }
    ws.write("train", summary)
    return summary


def _trained_model(ws: Workspace) -> tuple[Any, dict[str, Any]]:
    trained = ws.read("train")
    return load_model(ws.model, trained["model_sha256"]), trained


def step_evaluate(config: PipelineConfig, ws: Workspace) -> dict[str, float]:
    model, trained = _trained_model(ws)
    holdout = pd.read_csv(ws.holdout)
    metrics = evaluation.score(model, holdout, config.dataset)
    evaluation.plot_confusion_matrix(model, holdout, config.dataset, ws.confusion_matrix)
    configure(config.experiment)
    with mlflow.start_run(run_id=trained["run_id"]):
        mlflow.log_metrics(metrics)
        mlflow.log_artifact(str(ws.confusion_matrix), artifact_path="evaluation")
    ws.write("evaluate", {"metrics": metrics})
    return metrics


def step_register(config: PipelineConfig, ws: Workspace) -> Registered:
    model, trained = _trained_model(ws)
    configure(config.experiment)
    registered = register(
        model,
        model_name=config.model_name,
        run_id=trained["run_id"],
        dataset=config.dataset,
        holdout=pd.read_csv(ws.holdout),
        dataset_sha256=ws.read("ingest")["sha256"],
        metrics=ws.read("evaluate")["metrics"],
        commit=git_commit(),
        staging_dir=ws.root,
        extra_files=[ws.reference],
    )
    ws.write(
        "register",
        {
            "name": registered.name,
            "version": registered.version,
            "artifact_sha256": registered.artifact_sha256,
        },
    )
    return registered


def step_promote(config: PipelineConfig, ws: Workspace) -> Decision:
    registered = ws.read("register")
    configure(config.experiment)
    decision = promote(
        model_name=config.model_name,
        candidate_version=registered["version"],
        candidate_metrics=ws.read("evaluate")["metrics"],
        holdout=pd.read_csv(ws.holdout),
        dataset=config.dataset,
        spec=config.promotion,
    )
    ws.write("promote", decision.to_dict())
    return decision


def example_request(config: PipelineConfig, alias: str, rows: int = 1) -> dict[str, Any]:
    """A ``/v1/predict`` body made from the input example stored with ``model@alias``."""
    configure(config.experiment)
    client = MlflowClient()
    version = resolve_alias(client, config.model_name, alias)
    if version is None:
        raise RegistryError(f"{config.model_name}@{alias} is not set; run the pipeline first")
    with tempfile.TemporaryDirectory(prefix="mlsys-example-") as tmp:
        example = json.loads(
            download_file(client, version, INPUT_EXAMPLE_FILE, Path(tmp)).read_text()
        )
    records = [dict(zip(example["columns"], row, strict=True)) for row in example["data"][:rows]]
    return {"rows": records}


@dataclass(frozen=True)
class RunResult:
    registered: Registered
    decision: Decision


def run_all(config: PipelineConfig, ws: Workspace) -> RunResult:
    """Every step in order; a failing step raises and later steps never run."""
    step_ingest(config, ws)
    step_validate(config, ws)
    step_train(config, ws)
    step_evaluate(config, ws)
    registered = step_register(config, ws)
    return RunResult(registered=registered, decision=step_promote(config, ws))
