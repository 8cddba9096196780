"""The six steps over a workspace, so the CLI, a local run and Airflow pods behave the same.

Each step's output names the run and model hash it belongs to (from ``train`` on), and the
next step refuses an output that belongs to another run.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import skops.io as sio
from mlflow import MlflowClient

from app.model_contract import (
    ARTIFACT_SHA_TAG,
    INPUT_EXAMPLE_FILE,
    MANIFEST_SIGNATURE_TAG,
    MODEL_CARD_FILE,
    load_model,
    sha256_file,
)
from training import evaluate as evaluation
from training import provenance, snapshots
from training.checks import champion_drift, overlap, reference_of
from training.config import PipelineConfig
from training.ingest import ingest
from training.model_card import render_card
from training.promote import BOOTSTRAP_SEED, Decision, promote
from training.register import Registered, register
from training.registry import RegistryError, download_file, resolve_alias
from training.significance import Predictions, metric_intervals, resample_weights
from training.tracking import configure, git_commit, git_dirty
from training.train import features, hyper_parameters, labels, split_dataset, train
from training.validate import DatasetValidationError, ValidationReport, validate
from training.workspace import StepOrderError, Workspace

log = logging.getLogger("mlsys.training")


def _load_dataset(ws: Workspace) -> pd.DataFrame:
    ws.read("ingest")
    return pd.read_csv(ws.dataset)


def step_ingest(config: PipelineConfig, ws: Workspace) -> dict[str, Any]:
    # Read into a side file first: a failed ingest leaves the previous run's folder intact.
    result = ingest(config.dataset.uri, config.dataset.label, ws.incoming)
    ws.clear(keep=ws.incoming)
    ws.incoming.replace(ws.dataset)
    summary = {
        "source": result.source,
        "sha256": result.sha256,
        "rows": result.rows,
        "snapshot": snapshots.keep(ws.dataset, result.sha256),
        "dvc": result.dvc,
    }
    ws.write("ingest", summary)
    return summary


def step_validate(config: PipelineConfig, ws: Workspace) -> ValidationReport:
    frame = _load_dataset(ws)
    report = validate(frame, config.dataset, allow_duplicates=config.checks.allow_duplicate_rows)
    accepted = config.checks.accept_shift
    drift = champion_drift(config, frame) if report.ok else None
    if drift is not None and not accepted:
        report = ValidationReport(report.rows, [*report.violations, *drift.violations()])
    ws.write(
        "validate",
        {
            **report.to_dict(),
            "sha256": ws.read("ingest")["sha256"],
            "drift": None if drift is None else {"champion": drift.champion_version, **drift.psi},
            "accepted_shift": accepted if drift is not None and drift.over else None,
        },
    )
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
    leaks = overlap(split.train, split.holdout, config.dataset)
    if leaks:
        raise DatasetValidationError(ValidationReport(len(frame), leaks))
    model = train(split.train, config.dataset, config.model, config.split.seed)
    sio.dump(model, ws.model)
    split.holdout.to_csv(ws.holdout, index=False)
    reference = reference_of(features(split.train, config.dataset), config.dataset.feature_names)
    ws.reference.write_text(json.dumps(reference))
    commit, dirty = git_commit(), git_dirty()
    fingerprint = provenance.fingerprint(config, ingested["sha256"], commit)
    experiment_id = configure(config.experiment)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(hyper_parameters(config.model, config.split.seed))
        mlflow.log_params(
            {"split.test_size": config.split.test_size, "split.seed": config.split.seed}
        )
        mlflow.set_tags(provenance.run_tags(ingested, checked, commit, dirty, fingerprint))
        provenance.log_data(frame, split.holdout, split.holdout_ids, ingested, config.dataset.label)
        mlflow.log_dict(checked, provenance.VALIDATION_FILE)
    summary = {
        "run_id": run.info.run_id,
        "model_sha256": sha256_file(ws.model),
        "holdout_sha256": sha256_file(ws.holdout),
        "reference_sha256": sha256_file(ws.reference),
        "train_rows": len(split.train),
        "holdout_rows": len(split.holdout),
        "fingerprint": fingerprint,
        "git_dirty": dirty,
    }
    ws.write("train", summary)
    return summary


def _trained_model(ws: Workspace) -> tuple[Any, dict[str, Any]]:
    trained = ws.read("train")
    return load_model(ws.model, trained["model_sha256"]), trained


def step_evaluate(config: PipelineConfig, ws: Workspace) -> dict[str, float]:
    model, trained = _trained_model(ws)
    holdout = pd.read_csv(ws.checked(ws.holdout, trained, "holdout_sha256"))
    metrics = evaluation.score(model, holdout, config.dataset)
    evaluation.plot_confusion_matrix(model, holdout, config.dataset, ws.confusion_matrix)
    configure(config.experiment)
    with mlflow.start_run(run_id=trained["run_id"]):
        mlflow.log_metrics(metrics)
        mlflow.log_artifact(str(ws.confusion_matrix), artifact_path="evaluation")
    ws.write("evaluate", {**_owner(trained), "metrics": metrics})
    return metrics


def _owner(trained: dict[str, Any]) -> dict[str, str]:
    return {"run_id": trained["run_id"], "model_sha256": trained["model_sha256"]}


def step_register(config: PipelineConfig, ws: Workspace) -> Registered:
    model, trained = _trained_model(ws)
    evaluated = ws.read_for("evaluate", trained)
    # Checked before any shortcut below: an edited file is refused even when nothing new
    # would be registered.
    holdout_path = ws.checked(ws.holdout, trained, "holdout_sha256")
    reference_path = ws.checked(ws.reference, trained, "reference_sha256")
    configure(config.experiment)
    client = MlflowClient()
    same = provenance.unchanged_version(client, config.model_name, trained["fingerprint"])
    if (
        same is not None
        and MANIFEST_SIGNATURE_TAG not in client.get_model_version(config.model_name, same).tags
    ):
        same = None  # registered before manifests were signed: serving refuses it, so re-register
    again = provenance.registered_from_run(
        client, config.model_name, trained["run_id"], (ARTIFACT_SHA_TAG, MANIFEST_SIGNATURE_TAG)
    )
    if again is not None:
        tags = client.get_model_version(config.model_name, again).tags
        registered = Registered(config.model_name, again, tags[ARTIFACT_SHA_TAG], "")
    elif same is not None and trained["git_dirty"] == "false":
        version = client.get_model_version(config.model_name, same)
        registered = Registered(
            config.model_name, same, version.tags.get("artifact_sha256", ""), "", unchanged=True
        )
    else:
        # A register step killed between logging and signing (OOM, eviction) left an
        # unsigned version of this run behind; it goes before a new one is made.
        discarded = provenance.discard_half_registered(
            client, config.model_name, trained["run_id"], (ARTIFACT_SHA_TAG, MANIFEST_SIGNATURE_TAG)
        )
        if discarded:
            log.warning(
                "deleted half-registered %s v%s of run %s",
                config.model_name,
                ", v".join(discarded),
                trained["run_id"],
            )
        registered = register(
            model,
            model_name=config.model_name,
            run_id=trained["run_id"],
            dataset=config.dataset,
            holdout=pd.read_csv(holdout_path),
            dataset_sha256=ws.read("ingest")["sha256"],
            metrics=evaluated["metrics"],
            commit=git_commit(),
            staging_dir=ws.root,
            extra_files=[reference_path],
            extra_tags={
                provenance.FINGERPRINT_TAG: trained["fingerprint"],
                provenance.GIT_DIRTY_TAG: trained["git_dirty"],
            },
        )
        write_card(config, ws, trained, registered, decision=None)
    ws.write(
        "register",
        {
            **_owner(trained),
            "name": registered.name,
            "version": registered.version,
            "artifact_sha256": registered.artifact_sha256,
            "unchanged": registered.unchanged,
        },
    )
    return registered


def write_card(
    config: PipelineConfig,
    ws: Workspace,
    trained: dict[str, Any],
    registered: Registered,
    decision: Decision | None,
) -> str:
    """Render the model card and log it at the run's stable path; returns the Markdown."""
    validated = ws.read("validate")
    model = load_model(ws.model, trained["model_sha256"])
    holdout = pd.read_csv(ws.checked(ws.holdout, trained, "holdout_sha256"))
    predictions = Predictions.of(
        model,
        features(holdout, config.dataset),
        labels(holdout, config.dataset),
        config.dataset.classes,
    )
    weights = resample_weights(len(holdout), config.promotion.bootstrap_samples, BOOTSTRAP_SEED)
    card = render_card(
        config=config,
        version=registered.version,
        run_id=trained["run_id"],
        ingested=ws.read("ingest"),
        dataset=pd.read_csv(ws.dataset),
        drift=validated.get("drift"),
        accepted_shift=validated.get("accepted_shift"),
        metrics=ws.read_for("evaluate", trained)["metrics"],
        intervals=metric_intervals(predictions, weights, config.promotion.confidence),
        decision=decision,
    )
    with mlflow.start_run(run_id=trained["run_id"]):
        mlflow.log_text(card, MODEL_CARD_FILE)
    return card


def step_promote(config: PipelineConfig, ws: Workspace) -> Decision:
    trained = ws.read("train")
    registered = ws.read_for("register", trained)
    configure(config.experiment)
    if registered["unchanged"]:
        return Decision(
            promoted=False,
            candidate_version=registered["version"],
            champion_version=None,
            candidate_metrics={},
            reasons=[
                f"unchanged re-run of v{registered['version']} (same data, settings and code): "
                "nothing registered, no alias moved"
            ],
            changed=False,
        )
    decision = promote(
        model_name=config.model_name,
        candidate_version=registered["version"],
        holdout=pd.read_csv(ws.checked(ws.holdout, trained, "holdout_sha256")),
        dataset=config.dataset,
        spec=config.promotion,
        accepted_shift=ws.read("validate").get("accepted_shift"),
    )
    if decision.changed:
        write_card(
            config,
            ws,
            trained,
            Registered(
                registered["name"], registered["version"], registered["artifact_sha256"], ""
            ),
            decision,
        )
    ws.write("promote", {**_owner(trained), **decision.to_dict()})
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
