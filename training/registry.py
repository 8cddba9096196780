"""Registry reads for training: aliases, a version's files and its model, via MLflow's client."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from app.model_contract import ARTIFACT_SHA_TAG, MODEL_FILE, ArtifactError, load_model

# What MLflow answers for an unset alias (a database store) or an unknown model (a server).
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class RegistryError(RuntimeError):
    """The registry could not be reached or does not hold what we asked for."""


class RegistryClient(Protocol):
    """The part of ``mlflow.MlflowClient`` these reads use."""

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    def get_model_version_download_uri(self, name: str, version: str) -> str: ...


def resolve_alias(client: RegistryClient, name: str, alias: str) -> ModelVersion | None:
    """The version ``name@alias`` points at, or None when the alias (or model) is not set."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND:
            return None
        raise RegistryError(f"cannot resolve {name}@{alias}: {exc.message}") from exc


def download_file(client: RegistryClient, version: ModelVersion, file_name: str, dst: Path) -> Path:
    """Download one file of a registered version's model folder into ``dst``."""
    try:
        folder = client.get_model_version_download_uri(version.name, str(version.version))
        return Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"{folder.rstrip('/')}/{file_name}", dst_path=str(dst)
            )
        )
    except (MlflowException, OSError) as exc:
        raise RegistryError(
            f"cannot download {file_name} of {version.name} v{version.version}: {exc}"
        ) from exc


def load_version(client: RegistryClient, version: ModelVersion, dst: Path) -> Any:
    """Download a version's model and load it; the file must match its registered hash."""
    expected = (version.tags or {}).get(ARTIFACT_SHA_TAG)
    if not expected:
        raise ArtifactError(
            f"{version.name} v{version.version} has no {ARTIFACT_SHA_TAG} tag; refusing to load"
        )
    return load_model(download_file(client, version, MODEL_FILE, dst), expected)
