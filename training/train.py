"""Train: split the data and fit a scikit-learn Pipeline with seeded hyper-parameters."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from training.config import ConfigError, DatasetSpec, ModelSpec, SplitSpec

_ESTIMATORS: dict[str, type[ClassifierMixin]] = {
    "logistic_regression": LogisticRegression,
    "random_forest": RandomForestClassifier,
    "hist_gradient_boosting": HistGradientBoostingClassifier,
}


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    holdout: pd.DataFrame
    # Positions of the holdout rows in the ingested snapshot, so the holdout can be rebuilt.
    holdout_ids: tuple[int, ...] = ()


def split_dataset(frame: pd.DataFrame, dataset: DatasetSpec, spec: SplitSpec) -> Split:
    """Stratified, seeded split so every run of the same data sees the same holdout."""
    frame = frame.reset_index(drop=True)
    train, holdout = train_test_split(
        frame, test_size=spec.test_size, random_state=spec.seed, stratify=frame[dataset.label]
    )
    return Split(
        train=train.reset_index(drop=True),
        holdout=holdout.reset_index(drop=True),
        holdout_ids=tuple(int(i) for i in holdout.index),
    )


def build_pipeline(spec: ModelSpec, seed: int) -> Pipeline:
    estimator_cls = _ESTIMATORS[spec.kind]
    params: dict[str, Any] = dict(spec.params)
    known = estimator_cls().get_params()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(
            f"model.params has key(s) {unknown} that {spec.kind} does not accept; "
            f"allowed: {sorted(known)}"
        )
    if "random_state" in known:
        params.setdefault("random_state", seed)
    return Pipeline([("scale", StandardScaler()), ("model", estimator_cls(**params))])


def features(frame: pd.DataFrame, dataset: DatasetSpec) -> np.ndarray:
    """The feature matrix in contract order, as float64 (the API builds the same array)."""
    matrix: np.ndarray = frame[dataset.feature_names].to_numpy(dtype=np.float64)
    return matrix


def labels(frame: pd.DataFrame, dataset: DatasetSpec) -> np.ndarray:
    target: np.ndarray = frame[dataset.label].to_numpy(dtype=np.int64)
    return target


class TrainingError(RuntimeError):
    """Fitting failed on data that passed validation (exit 1, one line)."""


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _params_fail(spec: ModelSpec, seed: int, dataset: DatasetSpec) -> bool:
    # Values that are valid one by one can still conflict (penalty=l1 with solver=lbfgs), and
    # scikit-learn says so only inside fit() with a plain ValueError, like a data problem.
    # A fit on clean synthetic data tells the two apart: if it fails too, the config is wrong.
    rng = np.random.default_rng(0)
    y = np.repeat(np.asarray(dataset.classes, dtype=np.int64), 20)
    x = rng.normal(size=(len(y), len(dataset.columns))) + y[:, None]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build_pipeline(spec, seed).fit(x, y)
    except (ValueError, TypeError):
        return True
    return False


def train(frame: pd.DataFrame, dataset: DatasetSpec, spec: ModelSpec, seed: int) -> Pipeline:
    """Fit on plain arrays so serving needs no pandas and no column-name bookkeeping."""
    pipeline = build_pipeline(spec, seed)
    try:
        pipeline.fit(features(frame, dataset), labels(frame, dataset))
    except InvalidParameterError as exc:
        raise ConfigError(f"model.params: {_one_line(exc)}") from exc
    except (ValueError, TypeError) as exc:
        if _params_fail(spec, seed, dataset):
            raise ConfigError(f"model.params: {_one_line(exc)}") from exc
        raise TrainingError(f"training {spec.kind} failed: {_one_line(exc)}") from exc
    return pipeline


def hyper_parameters(spec: ModelSpec, seed: int) -> dict[str, Any]:
    """What gets logged to MLflow: the model kind plus every parameter actually used."""
    params = build_pipeline(spec, seed).named_steps["model"].get_params()
    return {"model_kind": spec.kind, **{f"model.{k}": v for k, v in sorted(params.items())}}
