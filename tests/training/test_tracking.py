"""Tracking: the embedded store by default, a server when configured."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from app.model_contract import embedded_tracking_uri
from training import tracking
from training.tracking import TrackingSettings, configure, git_commit


def test_the_embedded_store_is_the_contract_location(mlsys_home: Path):
    settings = TrackingSettings()
    assert settings.home == mlsys_home
    assert settings.resolved_uri() == embedded_tracking_uri(mlsys_home)
    assert settings.resolved_uri() == f"sqlite:///{mlsys_home.resolve() / 'mlflow.db'}"
    assert settings.embedded
    assert settings.artifact_location() == (mlsys_home.resolve() / "artifacts").as_uri()


def test_a_tracking_server_wins_and_chooses_the_artifact_location(
    mlsys_home: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    settings = TrackingSettings()
    assert settings.resolved_uri() == "http://mlflow:5000"
    assert not settings.embedded
    assert settings.artifact_location() is None
    monkeypatch.setenv("MLSYS_ARTIFACT_ROOT", "s3://bucket/mlflow")
    assert TrackingSettings().artifact_location() == "s3://bucket/mlflow"


def test_our_own_embedded_uri_in_the_environment_still_counts_as_embedded(mlsys_home: Path):
    assert TrackingSettings(MLFLOW_TRACKING_URI=embedded_tracking_uri(mlsys_home)).embedded


def test_git_commit_prefers_the_ci_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("GIT_COMMIT", raising=False)
    monkeypatch.setenv("GITHUB_SHA", "feedbeef")
    assert git_commit() == "feedbeef"
    monkeypatch.setenv("GIT_COMMIT", "c0ffee")
    assert git_commit() == "c0ffee"


def test_git_commit_outside_a_checkout_is_unknown(monkeypatch: pytest.MonkeyPatch):
    for name in ("GIT_COMMIT", "GITHUB_SHA"):
        monkeypatch.delenv(name, raising=False)

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(tracking.subprocess, "run", no_git)
    assert git_commit() == "unknown"


@pytest.mark.slow
def test_configure_creates_the_experiment_once(mlsys_home: Path):
    first = configure("exp")
    assert configure("exp") == first
    assert mlflow.get_tracking_uri() == embedded_tracking_uri(mlsys_home)
    assert (mlsys_home / "mlflow.db").is_file()
    assert mlflow.get_experiment(first).artifact_location.startswith("file://")
