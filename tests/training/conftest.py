"""Small in-memory data and models, so unit tests fit in milliseconds and need no registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from mlflow.entities.model_registry import ModelVersion, ModelVersionTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from sklearn.pipeline import Pipeline

from app.model_contract import ARTIFACT_SHA_TAG, MODEL_FILE, sha256_file
from training.config import ColumnSpec, DatasetSpec, ModelSpec
from training.train import train

SMALL_FEATURES = ["f0", "f1", "f2", "f3"]


@pytest.fixture
def small_dataset() -> DatasetSpec:
    return DatasetSpec(
        uri="memory://small",
        label="target",
        classes=[0, 1],
        columns=[ColumnSpec(name=name) for name in SMALL_FEATURES],
        min_rows=20,
    )


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """120 rows, two overlapping classes: learnable, but not perfectly."""
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(120, len(SMALL_FEATURES)))
    noise = rng.normal(scale=0.8, size=120)
    frame = pd.DataFrame(matrix, columns=SMALL_FEATURES)
    frame["target"] = (matrix[:, 0] + 0.5 * matrix[:, 1] + noise > 0).astype(np.int64)
    return frame


@pytest.fixture
def small_model(small_frame: pd.DataFrame, small_dataset: DatasetSpec) -> Pipeline:
    return train(small_frame, small_dataset, ModelSpec(kind="logistic_regression"), seed=0)


class FakeRegistry:
    """The MlflowClient calls training makes, over plain folders: one per model version."""

    def __init__(self, root: Path, name: str = "model") -> None:
        self.root, self.name = root, name
        self.aliases: dict[str, str] = {}
        self.tags: dict[str, dict[str, str]] = {}

    def add_version(self, model: Any, *, tagged: bool = True) -> str:
        """Store ``model`` as the next version; ``tagged`` records its artifact hash."""
        version = str(len(self.tags) + 1)
        folder = self.root / version
        folder.mkdir(parents=True)
        sio.dump(model, folder / MODEL_FILE)
        self.tags[version] = {ARTIFACT_SHA_TAG: sha256_file(folder / MODEL_FILE)} if tagged else {}
        return version

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        if name != self.name or alias not in self.aliases:
            raise MlflowException(f"alias {alias} not found", error_code=INVALID_PARAMETER_VALUE)
        return self.get_model_version(name, self.aliases[alias])

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        tags = [ModelVersionTag(k, v) for k, v in self.tags[version].items()]
        return ModelVersion(name, version, creation_timestamp=0, tags=tags)

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        return (self.root / version).as_uri()

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.aliases[alias] = version

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        del self.aliases[alias]

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.tags[version][key] = value


@pytest.fixture
def fake_registry(tmp_path: Path) -> FakeRegistry:
    return FakeRegistry(tmp_path / "registry")
