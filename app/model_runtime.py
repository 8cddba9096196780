"""The model being served: how a registry version becomes a ready, checked predictor."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from app.artifact import ArtifactError
from app.drift import REFERENCE_FILE
from app.fast_model import CompiledModel, compile_model
from app.registry import ResolvedVersion

_NUMERIC_TYPES = {"double": "number", "float": "number", "long": "integer", "integer": "integer"}


@dataclass(frozen=True)
class InputColumn:
    name: str
    kind: str  # "number" or "integer"
    required: bool = True
    mlflow_type: str = "double"


def read_signature(model_dir: Path) -> list[InputColumn]:
    """Input columns from the MLmodel file; only numeric column signatures are servable."""
    try:
        mlmodel = yaml.safe_load((model_dir / "MLmodel").read_text()) or {}
        inputs = json.loads((mlmodel.get("signature") or {}).get("inputs") or "null")
    except (OSError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"unreadable MLmodel file: {exc}") from exc
    if not inputs:
        raise ArtifactError("model has no input signature; refusing to serve it")
    columns = []
    for spec in inputs:
        mlflow_type = str(spec.get("type"))
        kind = _NUMERIC_TYPES.get(mlflow_type)
        if kind is None or "name" not in spec:
            raise ArtifactError(f"unsupported signature column {spec}; numeric named columns only")
        columns.append(
            InputColumn(spec["name"], kind, bool(spec.get("required", True)), mlflow_type)
        )
    return columns


def read_input_example(model_dir: Path, columns: list[InputColumn]) -> np.ndarray:
    """The stored input example as a matrix in signature order (used as a smoke test)."""
    path = model_dir / "input_example.json"
    if not path.is_file():
        raise ArtifactError("model has no input example to smoke-test with")
    raw = json.loads(path.read_text())
    index = {name: i for i, name in enumerate(raw["columns"])}
    return np.asarray(
        [[row[index[c.name]] for c in columns] for row in raw["data"]], dtype=np.float64
    )


def read_reference(model_dir: Path, columns: list[InputColumn]) -> dict[str, Any] | None:
    """Training-time feature statistics for drift, when the model carries them."""
    path = model_dir / "extra_files" / REFERENCE_FILE
    if not path.is_file():
        return None
    reference: dict[str, Any] = json.loads(path.read_text())
    if [f["name"] for f in reference.get("features", [])] != [c.name for c in columns]:
        raise ArtifactError(f"{REFERENCE_FILE} does not describe the signature's columns")
    return reference


@dataclass(frozen=True)
class Prediction:
    labels: np.ndarray
    probabilities: np.ndarray
    class_index: np.ndarray  # position of each row's label in the model's classes


@dataclass(frozen=True)
class LoadedModel:
    """An immutable snapshot: a request keeps the one it started with across a swap."""

    version: ResolvedVersion
    columns: list[InputColumn]
    example: np.ndarray
    compiled: CompiledModel
    reference: dict[str, Any] | None = None
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def class_names(self) -> list[str]:
        return [str(c) for c in self.compiled.classes.tolist()]

    def predict(self, matrix: np.ndarray) -> Prediction:
        proba = self.compiled.predict_proba(matrix)
        index = np.argmax(proba, axis=1)
        return Prediction(self.compiled.classes[index], proba, index)

    def smoke_test(self) -> None:
        """Predict on the stored example; a model that cannot do that is never swapped in."""
        result = self.predict(self.example)
        if result.probabilities.shape != (len(self.example), len(self.compiled.classes)):
            raise ArtifactError("smoke prediction returned the wrong shape")
        if not np.all(np.isfinite(result.probabilities)):
            raise ArtifactError("smoke prediction returned non-finite probabilities")


def build_loaded_model(version: ResolvedVersion, estimator: Any, model_dir: Path) -> LoadedModel:
    if not hasattr(estimator, "predict_proba") or not hasattr(estimator, "classes_"):
        raise ArtifactError("only fitted classifiers with predict_proba can be served")
    columns = read_signature(model_dir)
    example = read_input_example(model_dir, columns)
    model = LoadedModel(
        version=version,
        columns=columns,
        example=example,
        compiled=compile_model(estimator, example),
        reference=read_reference(model_dir, columns),
    )
    model.smoke_test()
    return model
