"""Shared fixtures: isolated MLflow homes and one trained registry per test session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from training.config import PipelineConfig, load_config
from training.pipeline import RunResult, run_all
from training.workspace import Workspace

# Variables that would point a test at a real store or key; none may leak in from the caller.
_MLFLOW_VARS = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLSYS_ARTIFACT_ROOT",
    "MLSYS_SIGNING_KEY",
)


def _isolate_mlflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear the MLflow variables and restore them after the test, even if unset now.

    ``mlflow.set_tracking_uri`` exports MLFLOW_TRACKING_URI itself. ``delenv`` of an unset
    variable records nothing to undo, so without the ``setenv`` first the test's store would
    leak into every later test (and into the servers they start).
    """
    for name in _MLFLOW_VARS:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _in_process_apis_leave_the_collector_alone(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The API collects and freezes the cycle collector after each model swap. Servers
    started as processes do; in this one process it would cost a full collection of every
    test's objects per swap and freeze them, so only tests marked ``gc_freeze`` do it."""
    import gc

    from app.lifecycle import model_swapper

    if request.node.get_closest_marker("gc_freeze") is None:
        monkeypatch.setattr(model_swapper, "_settle_garbage_collector", lambda: None)
    yield
    gc.unfreeze()


@pytest.fixture
def mlsys_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh embedded MLflow store; no MLflow variable leaks in from the caller."""
    home = tmp_path / "home"
    monkeypatch.setenv("MLSYS_HOME", str(home))
    _isolate_mlflow(monkeypatch)
    return home


@pytest.fixture
def config() -> PipelineConfig:
    return load_config()


@pytest.fixture(scope="session")
def _trained_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult]:
    home = tmp_path_factory.mktemp("trained") / "home"
    saved = {name: os.environ.pop(name, None) for name in (*_MLFLOW_VARS, "MLSYS_HOME")}
    os.environ["MLSYS_HOME"] = str(home)
    try:
        result = run_all(load_config(), Workspace(home / "work"))
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
    return home, result


@pytest.fixture
def trained_home(
    _trained_home: tuple[Path, RunResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A private copy of a store whose champion is v1, trained once per session."""
    source, _ = _trained_home
    home = tmp_path / "trained"
    shutil.copytree(source, home)
    # The copied SQLite rows still point at the original artifact folder; keep it readable.
    monkeypatch.setenv("MLSYS_HOME", str(home))
    _isolate_mlflow(monkeypatch)
    return home
