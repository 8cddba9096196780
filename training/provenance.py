"""What a run records about its inputs: dataset, snapshot, holdout rows, code and fingerprint."""

from __future__ import annotations

import hashlib
import json
import warnings
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.pandas_dataset import from_pandas

from app.model_contract import DATASET_SHA_TAG, GIT_COMMIT_TAG
from training.config import PipelineConfig

FINGERPRINT_TAG = "training_fingerprint"
GIT_DIRTY_TAG = "git_dirty"
SHIFT_TAG = "accepted_shift"
SNAPSHOT_TAG = "dataset_snapshot"
HOLDOUT_ROWS_FILE = "data/holdout_rows.json"
VALIDATION_FILE = "data/validation.json"


def fingerprint(config: PipelineConfig, dataset_sha256: str, commit: str) -> str:
    """Same data, same settings, same code: the same fingerprint (and the same model)."""
    settings = config.model_dump(
        mode="json",
        exclude={"promotion": True, "experiment": True, "checks": True, "dataset": {"uri"}},
    )
    blob = json.dumps({"data": dataset_sha256, "config": settings, "code": commit}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def unchanged_version(client: MlflowClient, model_name: str, fingerprint_: str) -> str | None:
    """An existing version trained from exactly these inputs, if there is one."""
    found = client.search_model_versions(
        f"name='{model_name}' and tags.{FINGERPRINT_TAG} = '{fingerprint_}'"
    )
    versions = sorted(int(v.version) for v in found)
    return str(versions[0]) if versions else None


def registered_from_run(
    client: MlflowClient, model_name: str, run_id: str, complete_tags: tuple[str, ...]
) -> str | None:
    """The version an earlier ``register`` made from this very run, if it finished.

    A retried register pod must not add a copy of the same model; a version missing one of
    ``complete_tags`` was left half-registered by a crash and does not count.
    """
    found = client.search_model_versions(f"name='{model_name}' and run_id='{run_id}'")
    done = [int(v.version) for v in found if all(tag in v.tags for tag in complete_tags)]
    return str(min(done)) if done else None


def discard_half_registered(
    client: MlflowClient, model_name: str, run_id: str, complete_tags: tuple[str, ...]
) -> list[str]:
    """Delete the versions this run registered that lack one of ``complete_tags``.

    Left by a register step that failed or was killed between logging the model and signing
    it. The API refuses them (no signed manifest), but they must not linger in the registry
    where a person could mistake one for a candidate. Returns the deleted versions.
    """
    found = client.search_model_versions(f"name='{model_name}' and run_id='{run_id}'")
    # A version someone gave an alias was finished by an older release (before manifests
    # were signed, say), not left half-way by a crash: it is kept, and so are its aliases.
    # (search results do not carry aliases; each candidate is read again for them.)
    half = sorted(
        (
            str(v.version)
            for v in found
            if not all(tag in v.tags for tag in complete_tags)
            and not client.get_model_version(model_name, str(v.version)).aliases
        ),
        key=int,
    )
    for version in half:
        client.delete_model_version(model_name, version)
    return half


def run_tags(
    ingested: dict[str, Any], checked: dict[str, Any], commit: str, dirty: str, fp: str
) -> dict[str, str]:
    """Tags of the training run: where the data came from and which code trained on it."""
    tags = {
        DATASET_SHA_TAG: ingested["sha256"],
        "dataset_source": ingested["source"],
        "dataset_rows": str(ingested["rows"]),
        SNAPSHOT_TAG: ingested["snapshot"],
        GIT_COMMIT_TAG: commit,
        GIT_DIRTY_TAG: dirty,
        FINGERPRINT_TAG: fp,
        # Every run says which DVC revision it used, "none" when the data did not come from DVC.
        "dvc.rev": ingested.get("dvc", {}).get("dvc.rev", "none"),
        **ingested.get("dvc", {}),
    }
    if checked.get("accepted_shift"):
        tags[SHIFT_TAG] = str(checked["accepted_shift"])
    return tags


def log_data(
    frame: pd.DataFrame,
    holdout: pd.DataFrame,
    holdout_ids: tuple[int, ...],
    ingested: dict[str, Any],
    label: str,
) -> None:
    """Log the dataset and the holdout as run inputs and the holdout's row ids as an artifact."""
    sha = ingested["sha256"]
    # MLflow stores 36 characters of digest; the full SHA-256 goes in the input's tags.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The specified dataset source can be")
        for context, data in (("training", frame), ("holdout", holdout)):
            dataset = from_pandas(
                data,
                source=ingested["snapshot"],
                targets=label,
                name=f"dataset-{sha[:12]}" + ("" if context == "training" else "-holdout"),
                digest=sha[:32] if context == "training" else None,
            )
            mlflow.log_input(
                dataset, context=context, tags={"sha256": sha, "source": ingested["source"]}
            )
    mlflow.log_dict(
        {"dataset_sha256": sha, "snapshot": ingested["snapshot"], "rows": list(holdout_ids)},
        HOLDOUT_ROWS_FILE,
    )
