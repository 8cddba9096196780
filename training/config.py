"""Typed pipeline configuration, read once from a YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "default.yaml"

Metric = Literal["accuracy", "f1", "roc_auc", "precision", "recall", "log_loss"]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
# Every metric is "higher is better" except these, whose thresholds are maxima.
LOWER_IS_BETTER: frozenset[str] = frozenset({"log_loss"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Strict):
    """One feature column of the dataset contract."""

    name: str
    dtype: Literal["float", "int"] = "float"
    min: float | None = None
    max: float | None = None
    nullable: bool = False


class DatasetSpec(_Strict):
    """Where the data comes from and the contract it must meet."""

    uri: str
    label: str
    classes: list[int] = Field(min_length=2)
    columns: list[ColumnSpec] = Field(min_length=1)
    min_rows: int = Field(default=100, ge=1)
    min_class_fraction: Fraction = 0.1

    @property
    def feature_names(self) -> list[str]:
        return [column.name for column in self.columns]


class SplitSpec(_Strict):
    test_size: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.25
    seed: int = 42


# Estimators that learn from missing values themselves; the others need every value. An
# imputer is not offered: skops would have to trust numpy.dtype, which the API refuses.
HANDLES_MISSING: frozenset[str] = frozenset({"random_forest", "hist_gradient_boosting"})


class ModelSpec(_Strict):
    kind: Literal["logistic_regression", "random_forest", "hist_gradient_boosting"]
    params: dict[str, Any] = Field(default_factory=dict)


class PromotionSpec(_Strict):
    """Absolute quality gates plus the no-regression rule against the champion."""

    thresholds: dict[Metric, Annotated[float, Field(ge=0.0)]]
    compare_metrics: list[Metric] = Field(min_length=1)
    tolerance: Annotated[float, Field(ge=0.0, le=0.5)] = 0.005
    # How "worse than the champion" is decided on the shared holdout: a paired bootstrap
    # interval of the metric difference, or McNemar's exact test on rows each model gets right.
    test: Literal["bootstrap", "mcnemar"] = "bootstrap"
    confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95
    bootstrap_samples: Annotated[int, Field(ge=100, le=100_000)] = 2000
    # A champion that scores this much lower on the new holdout than on its own means the data
    # changed under it: refused as a data problem unless the shift is accepted.
    champion_drop: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1

    @model_validator(mode="after")
    def _probabilities_stay_below_one(self) -> PromotionSpec:
        for name, value in self.thresholds.items():
            if name not in LOWER_IS_BETTER and value > 1.0:
                raise ValueError(f"promotion.thresholds.{name} must be <= 1, got {value}")
        return self


class ChecksSpec(_Strict):
    """Data checks beyond the column contract; the shift check compares with the champion."""

    psi_threshold: Annotated[float, Field(gt=0.0)] = 0.25
    # Set (with a reason) to train on data that drifted from the champion's reference on
    # purpose; the reason is recorded as a run tag.
    accept_shift: str | None = Field(default=None, min_length=3)
    allow_duplicate_rows: bool = False


class PipelineConfig(_Strict):
    experiment: str
    model_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    dataset: DatasetSpec
    split: SplitSpec = SplitSpec()
    model: ModelSpec
    promotion: PromotionSpec
    checks: ChecksSpec = ChecksSpec()

    @model_validator(mode="after")
    def _columns_are_unique(self) -> PipelineConfig:
        names = self.dataset.feature_names
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"dataset.columns has duplicate names: {duplicates}")
        if self.dataset.label in names:
            raise ValueError("dataset.label must not also be a feature column")
        nullable = [column.name for column in self.dataset.columns if column.nullable]
        if nullable and self.model.kind not in HANDLES_MISSING:
            raise ValueError(
                f"dataset.columns {nullable} are nullable but model.kind {self.model.kind} "
                f"cannot learn from missing values; use one of {sorted(HANDLES_MISSING)} "
                "or make the columns non-nullable"
            )
        return self


class ConfigError(ValueError):
    """The pipeline config file is missing or invalid."""


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_columns(path: Path) -> Any:
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"dataset.columns_file: cannot read {path}: {exc}") from exc
    if not isinstance(loaded, dict) or "columns" not in loaded:
        raise ConfigError(f"dataset.columns_file: {path} has no top-level 'columns' list")
    return loaded["columns"]


def load_config(
    path: Path = DEFAULT_CONFIG, overrides: dict[str, Any] | None = None
) -> PipelineConfig:
    """Read a config file; a relative ``dataset.columns_file`` resolves next to it."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read pipeline config {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"pipeline config {path} must be a mapping of keys, not a list or value")
    dataset = raw.get("dataset", {})
    if isinstance(dataset, dict) and "columns_file" in dataset:
        dataset["columns"] = _read_columns(path.parent / str(dataset.pop("columns_file")))
    if overrides:
        base_model = raw.get("model", {})
        # A scalar where a section belongs (`--set model=5`) is left for the schema to name.
        model_override = overrides.get("model")
        new_kind = model_override.get("kind") if isinstance(model_override, dict) else None
        if isinstance(base_model, dict) and new_kind and new_kind != base_model.get("kind"):
            # Hyper-parameters belong to one estimator; switching kind starts from none.
            raw = {**raw, "model": {k: v for k, v in base_model.items() if k != "params"}}
        raw = _deep_merge(raw, overrides)
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"invalid pipeline config {path}: {problems}") from exc
