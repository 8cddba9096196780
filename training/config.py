"""Typed pipeline configuration, read once from a YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "default.yaml"

Metric = Literal["accuracy", "f1", "roc_auc", "precision", "recall"]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


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


class ModelSpec(_Strict):
    kind: Literal["logistic_regression", "random_forest", "hist_gradient_boosting"]
    params: dict[str, Any] = Field(default_factory=dict)


class PromotionSpec(_Strict):
    """Absolute quality gates plus the no-regression rule against the champion."""

    thresholds: dict[Metric, Fraction]
    compare_metrics: list[Metric] = Field(min_length=1)
    tolerance: Annotated[float, Field(ge=0.0, le=0.5)] = 0.005


class PipelineConfig(_Strict):
    experiment: str
    model_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    dataset: DatasetSpec
    split: SplitSpec = SplitSpec()
    model: ModelSpec
    promotion: PromotionSpec

    @model_validator(mode="after")
    def _columns_are_unique(self) -> PipelineConfig:
        names = self.dataset.feature_names
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"dataset.columns has duplicate names: {duplicates}")
        if self.dataset.label in names:
            raise ValueError("dataset.label must not also be a feature column")
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


def load_config(
    path: Path = DEFAULT_CONFIG, overrides: dict[str, Any] | None = None
) -> PipelineConfig:
    """Read a config file; a relative ``dataset.columns_file`` resolves next to it."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read pipeline config {path}: {exc}") from exc
    dataset = raw.get("dataset", {})
    if isinstance(dataset, dict) and "columns_file" in dataset:
        columns_path = path.parent / dataset.pop("columns_file")
        dataset["columns"] = yaml.safe_load(columns_path.read_text())["columns"]
    if overrides:
        base_model = raw.get("model", {})
        new_kind = overrides.get("model", {}).get("kind")
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
