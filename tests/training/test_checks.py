"""Checks across tables: leaks between the splits and drift against the champion."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.model_contract import bin_shares, build_reference, psi
from training.checks import Drift, feature_psi, overlap, reference_of


def test_holdout_rows_seen_in_training_are_a_leak(small_frame, small_dataset):
    train, holdout = small_frame.iloc[:80], small_frame.iloc[80:].reset_index(drop=True)
    assert overlap(train, holdout, small_dataset) == []
    leaking = pd.concat([holdout, train.iloc[[5, 9]]], ignore_index=True)
    [violation] = overlap(train, leaking, small_dataset)
    assert (violation.check, violation.count, violation.example_rows) == ("overlap", 2, [40, 41])


def test_psi_per_feature_is_the_measure_serving_exports(small_frame, small_dataset):
    names = small_dataset.feature_names
    matrix = small_frame[names].to_numpy()
    reference = build_reference(matrix, names)
    same = feature_psi(reference, matrix)
    assert set(same) == set(names) and max(same.values()) < 1e-9
    shifted = matrix * 1.4 + 0.5
    measured = feature_psi(reference, shifted)
    first = reference["features"][0]
    expected = psi(
        np.asarray(first["expected"]), bin_shares(np.asarray(first["edges"]), shifted[:, 0])
    )
    assert measured["f0"] == expected
    drift = Drift("3", 0.25, measured)
    assert set(drift.over) == {name for name, value in measured.items() if value > 0.25}
    assert drift.over, measured
    rendered = [v.render() for v in drift.violations()]
    assert all("against champion v3's reference" in line for line in rendered)


def test_reference_statistics_skip_missing_values(small_frame, small_dataset):
    names = small_dataset.feature_names
    matrix = small_frame[names].to_numpy().copy()
    matrix[::4, 0] = np.nan
    reference = reference_of(matrix, names)
    assert reference["rows"] == len(matrix)
    assert not np.isnan(reference["features"][0]["edges"]).any()
    assert reference["features"][1] == build_reference(matrix[:, [1]], [names[1]])["features"][0]


def test_reference_statistics_record_the_range_of_present_values(small_frame, small_dataset):
    """Serving bounds its inputs by this range, so a missing value must not hide it."""
    names = small_dataset.feature_names
    matrix = small_frame[names].to_numpy().copy()
    matrix[::4, 0] = np.nan
    features = reference_of(matrix, names)["features"]
    assert [(f["min"], f["max"]) for f in features] == [
        (float(np.nanmin(matrix[:, j])), float(np.nanmax(matrix[:, j]))) for j in range(len(names))
    ]
