"""Registry access: resolve an alias to a model version and fetch its artifact."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from mlflow.exceptions import MlflowException

from app.artifact import MODEL_FILE, ArtifactError, load_model

ARTIFACT_SHA_TAG = "artifact_sha256"
DATASET_SHA_TAG = "dataset_sha256"
FEATURES_TAG = "feature_names"
METRIC_TAG_PREFIX = "metric."


class RegistryError(RuntimeError):
    """The registry could not be reached or does not hold what we asked for."""


@dataclass(frozen=True)
class ResolvedVersion:
    name: str
    version: str
    alias: str
    run_id: str | None
    source: str
    download_uri: str
    tracking_uri: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def artifact_sha256(self) -> str | None:
        return self.tags.get(ARTIFACT_SHA_TAG)

    @property
    def metrics(self) -> dict[str, float]:
        return {
            key.removeprefix(METRIC_TAG_PREFIX): float(value)
            for key, value in self.tags.items()
            if key.startswith(METRIC_TAG_PREFIX)
        }

    @property
    def feature_names(self) -> list[str]:
        raw = self.tags.get(FEATURES_TAG, "")
        return [name for name in raw.split(",") if name]


def resolve_alias(client: MlflowClient, name: str, alias: str) -> ResolvedVersion | None:
    """The version behind ``name@alias``, or None if the alias is not set."""
    try:
        found = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise RegistryError(f"cannot resolve {name}@{alias}: {exc.message}") from exc
    return ResolvedVersion(
        name=name,
        version=str(found.version),
        alias=alias,
        run_id=found.run_id,
        source=str(found.source),
        download_uri=str(client.get_model_version_download_uri(name, str(found.version))),
        tracking_uri=str(client.tracking_uri),
        tags=dict(found.tags or {}),
    )


def download_version(version: ResolvedVersion, workdir: Path | None = None) -> Path:
    """Download a version's whole model folder (MLmodel, skops file, input example)."""
    target = workdir or Path(tempfile.mkdtemp(prefix="mlsys-model-"))
    # The concrete artifact URI plus an explicit tracking URI: nothing here depends on
    # MLflow's process-global settings, so the API and the pipeline can point anywhere.
    uri = version.download_uri
    try:
        return Path(
            download_artifacts(
                artifact_uri=uri, dst_path=str(target), tracking_uri=version.tracking_uri
            )
        )
    except (MlflowException, OSError) as exc:
        raise RegistryError(
            f"cannot download {version.name} v{version.version} from {uri}: {exc}"
        ) from exc


def fetch_model(version: ResolvedVersion, workdir: Path | None = None) -> tuple[Any, Path]:
    """Download a version and load its estimator; the registered hash must match the file."""
    if version.artifact_sha256 is None:
        raise ArtifactError(
            f"{version.name} v{version.version} has no {ARTIFACT_SHA_TAG} tag; refusing to load"
        )
    folder = download_version(version, workdir)
    return load_model(folder / MODEL_FILE, version.artifact_sha256), folder
