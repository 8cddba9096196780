"""Register: log the model pickle-free (skops) with signature, example and provenance tags."""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from app.artifact import MODEL_FILE, sha256_file, types_to_trust, untrusted_types
from app.registry import (
    ARTIFACT_SHA_TAG,
    DATASET_SHA_TAG,
    FEATURES_TAG,
    METRIC_TAG_PREFIX,
)
from training.config import DatasetSpec

INPUT_EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    artifact_sha256: str
    model_uri: str


def _requirements() -> list[str]:
    # Pinned explicitly so MLflow does not spawn a process to guess them.
    return [f"{name}=={package_version(name)}" for name in ("scikit-learn", "skops", "numpy")]


def register(
    model: Any,
    *,
    model_name: str,
    run_id: str,
    dataset: DatasetSpec,
    holdout: pd.DataFrame,
    dataset_sha256: str,
    metrics: dict[str, float],
    commit: str,
    staging_dir: Path,
    extra_files: list[Path] | None = None,
) -> Registered:
    """Log ``model`` into ``run_id``, register a new version and tag it with its provenance."""
    example = holdout[dataset.feature_names].head(INPUT_EXAMPLE_ROWS).astype("float64")
    signature = infer_signature(example, model.predict(example.to_numpy()))
    local_dir = staging_dir / "registered-model"
    shutil.rmtree(local_dir, ignore_errors=True)
    # MLflow checks the input example through its pyfunc wrapper, which passes a DataFrame to a
    # model fitted on arrays; scikit-learn's feature-name warning there is expected noise.
    with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X has feature names", category=UserWarning)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            skops_trusted_types=types_to_trust(model),
            signature=signature,
            input_example=example,
            pip_requirements=_requirements(),
            registered_model_name=model_name,
            extra_files=[str(path) for path in extra_files or []],
        )
    client = MlflowClient()
    version = str(info.registered_model_version)
    # Hashed from a fresh download, so the tag describes the bytes the registry serves.
    download_uri = client.get_model_version_download_uri(model_name, version)
    downloaded = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"{download_uri}/{MODEL_FILE}",
            dst_path=str(local_dir),
        )
    )
    artifact_sha = sha256_file(downloaded)
    tags = {
        ARTIFACT_SHA_TAG: artifact_sha,
        DATASET_SHA_TAG: dataset_sha256,
        FEATURES_TAG: ",".join(dataset.feature_names),
        "git_commit": commit,
        "skops_untrusted_types": ",".join(untrusted_types(downloaded)),
        **{f"{METRIC_TAG_PREFIX}{name}": f"{value:.6f}" for name, value in metrics.items()},
    }
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, value)
    client.set_tag(run_id, ARTIFACT_SHA_TAG, artifact_sha)
    return Registered(
        name=model_name, version=version, artifact_sha256=artifact_sha, model_uri=info.model_uri
    )
