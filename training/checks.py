"""Data checks that need more than one table: train/holdout leaks and drift from the champion."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from app.model_contract import (
    CHAMPION,
    EXTRA_FILES_DIR,
    REFERENCE_FILE,
    bin_shares,
    build_reference,
    parse_reference,
    psi,
)
from training.config import DatasetSpec, PipelineConfig
from training.registry import download_file, resolve_alias
from training.tracking import configure
from training.train import features
from training.validate import Violation

_EXAMPLE_ROWS = 5


def overlap(train: pd.DataFrame, holdout: pd.DataFrame, spec: DatasetSpec) -> list[Violation]:
    """Holdout rows whose features also appear in training make the holdout score a lie."""
    names = spec.feature_names
    seen = set(train[names].itertuples(index=False, name=None))
    leaked = holdout[names].apply(tuple, axis=1).isin(seen)
    if not leaked.any():
        return []
    rows = [int(i) for i in leaked[leaked].index[:_EXAMPLE_ROWS]]
    count = int(leaked.sum())
    return [
        Violation(
            "overlap",
            None,
            f"{count} holdout row(s) also appear in the training split",
            count,
            rows,
        )
    ]


@dataclass(frozen=True)
class Drift:
    """PSI of every feature of new data against a champion's reference statistics."""

    champion_version: str
    threshold: float
    psi: dict[str, float]

    @property
    def over(self) -> dict[str, float]:
        return {name: value for name, value in self.psi.items() if value > self.threshold}

    def violations(self) -> list[Violation]:
        return [
            Violation(
                "drift",
                name,
                f"PSI {value:.3f} > {self.threshold} against champion "
                f"v{self.champion_version}'s reference",
            )
            for name, value in sorted(self.over.items(), key=lambda item: -item[1])
        ]


def feature_psi(reference: dict[str, Any], matrix: np.ndarray) -> dict[str, float]:
    """PSI per feature, binned on the reference's edges: the measure the API exports."""
    result = {}
    for j, feature in enumerate(reference["features"]):
        column = matrix[:, j]
        column = column[~np.isnan(column)]  # missing values are counted by the contract check
        actual = bin_shares(np.asarray(feature["edges"]), column)
        result[str(feature["name"])] = psi(np.asarray(feature["expected"]), actual)
    return result


def reference_of(matrix: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Reference statistics per feature over its present values (nullable columns have gaps)."""
    columns = [matrix[:, j][~np.isnan(matrix[:, j])].reshape(-1, 1) for j in range(len(names))]
    parts = [build_reference(column, [name]) for column, name in zip(columns, names, strict=True)]
    return {**parts[0], "rows": int(matrix.shape[0]), "features": [p["features"][0] for p in parts]}


def champion_drift(config: PipelineConfig, frame: pd.DataFrame) -> Drift | None:
    """PSI of every feature against the champion's reference; None when there is no champion."""
    configure(config.experiment)
    client = MlflowClient()
    champion = resolve_alias(client, config.model_name, CHAMPION)
    if champion is None:
        return None
    with tempfile.TemporaryDirectory(prefix="mlsys-reference-") as tmp:
        path = download_file(client, champion, f"{EXTRA_FILES_DIR}/{REFERENCE_FILE}", Path(tmp))
        reference = parse_reference(path.read_text(), config.dataset.feature_names)
    psi = feature_psi(reference, features(frame, config.dataset))
    return Drift(str(champion.version), config.checks.psi_threshold, psi)
