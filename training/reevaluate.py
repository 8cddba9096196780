"""Re-evaluate any registered version on its own holdout, rebuilt from the kept snapshot."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from app.model_contract import DATASET_SHA_TAG, METRIC_TAG_PREFIX
from training import snapshots
from training.config import PipelineConfig
from training.evaluate import score
from training.provenance import HOLDOUT_ROWS_FILE, SNAPSHOT_TAG
from training.registry import RegistryError, load_version, resolve_alias
from training.tracking import configure


def _version(client: MlflowClient, name: str, ref: str) -> Any:
    if ref.isdigit():
        try:
            return client.get_model_version(name, ref)
        except MlflowException as exc:
            raise RegistryError(f"{name} v{ref} does not exist: {exc.message}") from exc
    found = resolve_alias(client, name, ref.removeprefix("@"))
    if found is None:
        raise RegistryError(f"{name}@{ref} is not set")
    return found


def rebuild_holdout(client: MlflowClient, run_id: str, dst: Path) -> tuple[pd.DataFrame, str]:
    """The exact holdout rows of a run: its snapshot (hash-checked) and its recorded row ids."""
    tags = client.get_run(run_id).data.tags
    if SNAPSHOT_TAG not in tags or DATASET_SHA_TAG not in tags:
        raise RegistryError(f"run {run_id} recorded no dataset snapshot; it cannot be rebuilt")
    raw = snapshots.fetch(tags[SNAPSHOT_TAG], tags[DATASET_SHA_TAG])
    path = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path=HOLDOUT_ROWS_FILE, dst_path=str(dst)
    )
    rows = json.loads(Path(path).read_text())["rows"]
    frame = pd.read_csv(io.BytesIO(raw))
    return frame.iloc[rows].reset_index(drop=True), tags[DATASET_SHA_TAG]


def reevaluate(config: PipelineConfig, ref: str) -> dict[str, Any]:
    """Score version ``ref`` (a number or an alias) again and set it beside what it recorded."""
    configure(config.experiment)
    client = MlflowClient()
    version = _version(client, config.model_name, ref)
    with tempfile.TemporaryDirectory(prefix="mlsys-reevaluate-") as tmp:
        holdout, sha = rebuild_holdout(client, version.run_id, Path(tmp))
        model = load_version(client, version, Path(tmp))
    recorded = {
        key.removeprefix(METRIC_TAG_PREFIX): float(value)
        for key, value in (version.tags or {}).items()
        if key.startswith(METRIC_TAG_PREFIX)
    }
    return {
        "version": str(version.version),
        "dataset_sha256": sha,
        "holdout_rows": len(holdout),
        "metrics": score(model, holdout, config.dataset),
        "recorded": recorded,
    }
