"""Where runs and models go: the embedded SQLite store by default, a server when configured."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import mlflow
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.model_contract import embedded_tracking_uri


class TrackingSettings(BaseSettings):
    """``MLSYS_HOME`` holds the local store; ``MLFLOW_TRACKING_URI`` switches to a server."""

    model_config = SettingsConfigDict(extra="ignore")

    home: Path = Field(default=Path(".mlsys"), validation_alias="MLSYS_HOME")
    tracking_uri: str | None = Field(default=None, validation_alias="MLFLOW_TRACKING_URI")
    artifact_root: str | None = Field(
        default=None,
        validation_alias="MLSYS_ARTIFACT_ROOT",
        description="Artifact location for new experiments when MLflow talks to a database "
        "directly (no tracking server), e.g. s3://bucket/mlflow.",
    )
    dataset_store: str | None = Field(
        default=None,
        validation_alias="MLSYS_DATASET_STORE",
        description="Where ingested snapshots are kept by hash, e.g. s3://datasets-bucket/snapshots.",
    )

    def embedded_uri(self) -> str:
        return embedded_tracking_uri(self.home)

    def resolved_uri(self) -> str:
        return self.tracking_uri or self.embedded_uri()

    @property
    def embedded(self) -> bool:
        # mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI, so a later read in the same
        # process sees our own default; that still means "embedded".
        return self.tracking_uri in (None, self.embedded_uri())

    def artifact_location(self) -> str | None:
        """None lets a tracking server choose; the embedded store keeps artifacts beside it."""
        if self.artifact_root:
            return self.artifact_root
        return (self.home.resolve() / "artifacts").as_uri() if self.embedded else None


def configure(experiment: str, settings: TrackingSettings | None = None) -> str:
    """Point MLflow at the store and make sure the experiment exists; returns its id."""
    settings = settings or TrackingSettings()
    uri = settings.resolved_uri()
    if settings.embedded:
        settings.home.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is not None:
        return str(existing.experiment_id)
    return str(mlflow.create_experiment(experiment, artifact_location=settings.artifact_location()))


def git_commit() -> str:
    """The commit being trained, from CI's variable or git itself; 'unknown' outside a checkout."""
    for variable in ("GIT_COMMIT", "GITHUB_SHA"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def git_dirty() -> str:
    """'true' when the checkout has uncommitted changes, 'false' when clean, else 'unknown'.

    ``GIT_DIRTY`` wins: an image built from a commit has no checkout to ask, but its build knows.
    """
    if os.environ.get("GIT_DIRTY") in ("true", "false"):
        return os.environ["GIT_DIRTY"]
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return "true" if out.stdout.strip() else "false"
