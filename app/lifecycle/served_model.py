"""The served snapshot: one model version, compiled and smoke-tested, never changed after."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from app.contract.input_bounds import DEFAULT_MARGIN, bounded_columns
from app.contract.records_decoder import RecordsDecoder, records_decoder
from app.lifecycle.compiled_model import CompiledModel, compile_model
from app.lifecycle.registry_client import ResolvedVersion
from app.model_contract import FLOAT32_MAX, ArtifactError, InputColumn

log = logging.getLogger("mlsys.api.model")
# Without a training range, bounds narrow by this factor until the model takes their edges.
_NARROWING = 2.0**16


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
    # Decodes well-formed /v1/predict records straight into this model's matrix; None
    # sends every body through the general path.
    records: RecordsDecoder | None = None

    @classmethod
    def build(
        cls,
        version: ResolvedVersion,
        estimator: Any,
        columns: list[InputColumn],
        example: np.ndarray,
        reference: dict[str, Any] | None = None,
        *,
        input_margin: float | Literal["off"] = DEFAULT_MARGIN,
    ) -> ServedModel:
        """Compile ``estimator`` and prove it predicts on ``example`` before anyone uses it.

        Its columns get the input bounds ``input_margin`` derives from the training range in
        ``reference`` ("off": float32-finite only, as for versions without that range), and
        the model must answer finitely on their edges: float32 bounds are narrowed until it
        does (a scaler can push a float32-finite value past float32 before a tree casts it),
        bounds from training that it cannot take refuse the model.
        """
        if not hasattr(estimator, "predict_proba") or not hasattr(estimator, "classes_"):
            raise ArtifactError("only fitted classifiers with predict_proba can be served")
        columns, from_training = bounded_columns(columns, reference, input_margin)
        if input_margin != "off" and not from_training:
            log.warning(
                "model has no training range in its reference statistics; inputs are bounded "
                "to float32-finite values only",
                extra={"model": version.name, "version": version.version},
            )
        compiled = compile_model(estimator, example, _bounds(columns))
        columns = _within_reach(compiled, columns, from_training, version)
        model = cls(
            version=version,
            columns=columns,
            example=example,
            compiled=compiled,
            reference=reference,
            records=records_decoder(columns),
        )
        model.smoke_test()
        return model

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per column, the lowest and highest value the input contract accepts."""
        return _bounds(self.columns)

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


def _bounds(columns: list[InputColumn]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([c.low for c in columns]), np.array([c.high for c in columns])


def _edge_rows(low: np.ndarray, high: np.ndarray, mixes: int = 32) -> np.ndarray:
    """Every bound at once, and mixes of them: where a linear model's output is most extreme."""
    pick = np.random.default_rng(0).integers(0, 2, size=(mixes, len(low))).astype(bool)
    return np.vstack([low, high, np.where(pick, high, low)])


def _takes(compiled: CompiledModel, low: np.ndarray, high: np.ndarray) -> bool:
    """Whether the model answers finite probabilities on the edges of these bounds."""
    try:
        with np.errstate(all="ignore"):
            proba = compiled.predict_proba(_edge_rows(low, high))
    except ValueError:  # scikit-learn refuses a value that overflowed inside the pipeline
        return False
    return bool(np.all(np.isfinite(proba)))


def _within_reach(
    compiled: CompiledModel,
    columns: list[InputColumn],
    from_training: bool,
    version: ResolvedVersion,
) -> list[InputColumn]:
    """``columns``, if the model takes their bounds; else float32 bounds narrowed until it
    does. Accepting a row the model cannot score would turn a client's input into a 5xx."""
    if not columns or _takes(compiled, *_bounds(columns)):
        return columns
    if from_training:
        raise ArtifactError(
            "the model answers non-finite probabilities on the edges of its input bounds; "
            "lower MLSYS_API_INPUT_BOUNDS_MARGIN"
        )
    limit = FLOAT32_MAX
    while limit > 1.0:
        limit /= _NARROWING
        if _takes(compiled, np.full(len(columns), -limit), np.full(len(columns), limit)):
            log.warning(
                "model cannot take every float32-finite input; inputs are bounded to +/-%.3g",
                limit,
                extra={"model": version.name, "version": version.version},
            )
            return [replace(c, low=-limit, high=limit) for c in columns]
    raise ArtifactError("the model answers non-finite probabilities even on small inputs")
