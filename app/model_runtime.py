"""The model being served: how a registry version becomes a ready, checked predictor."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.artifact import ArtifactError
from app.registry import ResolvedVersion

_NUMERIC_TYPES = {"double": "number", "float": "number", "long": "integer", "integer": "integer"}


@dataclass(frozen=True)
class InputColumn:
    name: str
    kind: str  # "number" or "integer"
    required: bool = True


def read_signature(model_dir: Path) -> list[InputColumn]:
    """Input columns from the MLmodel file; only numeric column signatures are servable."""
    from mlflow.models import Model

    signature = Model.load(str(model_dir / "MLmodel")).signature
    if signature is None or signature.inputs is None:
        raise ArtifactError("model has no input signature; refusing to serve it")
    columns = []
    for spec in signature.inputs.to_dict():
        kind = _NUMERIC_TYPES.get(str(spec.get("type")))
        if kind is None or "name" not in spec:
            raise ArtifactError(f"unsupported signature column {spec}; numeric named columns only")
        columns.append(InputColumn(spec["name"], kind, bool(spec.get("required", True))))
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


@dataclass(frozen=True)
class Prediction:
    labels: list[Any]
    probabilities: list[dict[str, float]] | None


@dataclass(frozen=True)
class LoadedModel:
    """An immutable snapshot: a request keeps the one it started with across a swap."""

    version: ResolvedVersion
    estimator: Any
    columns: list[InputColumn]
    example: np.ndarray
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def classes(self) -> list[Any]:
        return [
            c.item() if hasattr(c, "item") else c for c in getattr(self.estimator, "classes_", [])
        ]

    def predict(self, matrix: np.ndarray) -> Prediction:
        labels = [v.item() if hasattr(v, "item") else v for v in self.estimator.predict(matrix)]
        if not hasattr(self.estimator, "predict_proba"):
            return Prediction(labels, None)
        names = [str(c) for c in self.classes]
        proba = self.estimator.predict_proba(matrix)
        return Prediction(labels, [dict(zip(names, row.tolist(), strict=True)) for row in proba])

    def smoke_test(self) -> None:
        """Predict on the stored example; a model that cannot do that is never swapped in."""
        result = self.predict(self.example)
        if len(result.labels) != len(self.example):
            raise ArtifactError("smoke prediction returned the wrong number of rows")


def build_loaded_model(version: ResolvedVersion, estimator: Any, model_dir: Path) -> LoadedModel:
    columns = read_signature(model_dir)
    model = LoadedModel(
        version=version,
        estimator=estimator,
        columns=columns,
        example=read_input_example(model_dir, columns),
    )
    model.smoke_test()
    return model
