"""The served snapshot: one model version, compiled and smoke-tested, never changed after."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from app.lifecycle.compiled_model import CompiledModel, compile_model
from app.lifecycle.registry_client import ResolvedVersion
from app.model_contract import ArtifactError, InputColumn


@dataclass(frozen=True)
class Prediction:
    labels: np.ndarray
    probabilities: np.ndarray
    class_index: np.ndarray  # position of each row's label in the model's classes


@dataclass(frozen=True)
class ServedModel:
    """An immutable snapshot: a request keeps the one it started with across a swap."""

    version: ResolvedVersion
    columns: list[InputColumn]
    example: np.ndarray
    compiled: CompiledModel
    reference: dict[str, Any] | None = None
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def build(
        cls,
        version: ResolvedVersion,
        estimator: Any,
        columns: list[InputColumn],
        example: np.ndarray,
        reference: dict[str, Any] | None = None,
    ) -> ServedModel:
        """Compile ``estimator`` and prove it predicts on ``example`` before anyone uses it."""
        if not hasattr(estimator, "predict_proba") or not hasattr(estimator, "classes_"):
            raise ArtifactError("only fitted classifiers with predict_proba can be served")
        model = cls(
            version=version,
            columns=columns,
            example=example,
            compiled=compile_model(estimator, example),
            reference=reference,
        )
        model.smoke_test()
        return model

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
