from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.config import PipelineConfig
from training.ingest import ingest
from training.validate import DatasetValidationError, require_valid, validate


@pytest.fixture
def frame(tmp_path, config: PipelineConfig) -> pd.DataFrame:
    return ingest(config.dataset.uri, config.dataset.label, tmp_path / "d.csv").frame


def test_the_default_dataset_is_valid(frame, config):
    report = validate(frame, config.dataset)
    assert report.ok, report.render()
    assert report.rows == 569


def test_every_violation_is_reported_at_once(frame, config):
    bad = frame.copy()
    bad = bad.drop(columns=["mean_area"])
    bad["surprise"] = 1
    bad["mean_radius"] = bad["mean_radius"].astype(object)
    bad.loc[3, "mean_radius"] = "twelve"
    bad.loc[[5, 6], "mean_texture"] = np.nan
    bad.loc[7, "worst_area"] = -1.0
    bad.loc[8, "worst_area"] = 1e9
    bad.loc[9, "mean_smoothness"] = np.inf
    bad.loc[10, "target"] = 7
    report = validate(bad, config.dataset)
    found = {(v.check, v.column) for v in report.violations}
    assert found == {
        ("schema", None),  # missing mean_area
        ("type", "mean_radius"),
        ("missing_values", "mean_texture"),
        ("range", "worst_area"),
        ("type", "mean_smoothness"),
        ("label_set", "target"),
    }
    messages = report.render()
    assert "missing column(s): ['mean_area']" in messages
    assert "unexpected column(s): ['surprise']" in messages
    assert "value(s) < 0.0" in messages and "value(s) > " in messages
    worst_area = [v for v in report.violations if v.column == "worst_area"]
    assert sorted(v.example_rows[0] for v in worst_area) == [7, 8]
    assert len([v for v in report.violations if v.check == "schema"]) == 2


def test_size_and_balance(frame, config):
    small = frame[frame["target"] == 1].head(150)
    with pytest.raises(DatasetValidationError) as caught:
        require_valid(small, config.dataset)
    checks = {v.check for v in caught.value.report.violations}
    assert checks == {"row_count", "label_balance"}
    assert "class 0 is 0.0% of rows" in str(caught.value)


def test_integer_columns_refuse_fractions(frame, config):
    spec = config.dataset.model_copy(
        update={
            "columns": [
                c.model_copy(update={"dtype": "int"}) if c.name == "mean_area" else c
                for c in config.dataset.columns
            ]
        }
    )
    frame = frame.copy()
    frame["mean_area"] = frame["mean_area"].round()
    frame.loc[2, "mean_area"] = 500.5
    report = validate(frame, spec)
    assert [(v.check, v.column, v.example_rows) for v in report.violations] == [
        ("type", "mean_area", [2])
    ]


def test_constant_columns_and_duplicate_rows_are_violations(frame, config):
    bad = frame.copy()
    bad["mean_symmetry"] = 0.2
    bad = pd.concat([bad, bad.head(3), bad.head(3)], ignore_index=True)
    report = validate(bad, config.dataset)
    assert {(v.check, v.column) for v in report.violations} == {
        ("constant", "mean_symmetry"),
        ("duplicates", None),
    }
    [duplicates] = [v for v in report.violations if v.check == "duplicates"]
    assert duplicates.count == 6 and duplicates.example_rows[0] == len(frame)
    assert "6 row(s) repeat an earlier row" in report.render()
    allowed = validate(bad, config.dataset, allow_duplicates=True)
    assert [v.check for v in allowed.violations] == ["constant"]


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda f: f.assign(f1=f["f1"].where(f.index != 5, 1e308)),
        lambda f: f.assign(f1=f["f1"].where(f.index != 5, -1e308)),
        lambda f: f.assign(f1=f["f1"] * 1e300),
    ],
    ids=["one-1e308", "one-minus-1e308", "column-times-1e300"],
)
def test_values_too_large_to_scale_are_refused(small_frame, small_dataset, corrupt):
    # Columns without a configured max used to pass validation and then crash training
    # with a raw scikit-learn "Input contains NaN" traceback: the scaler's variance overflows.
    report = validate(corrupt(small_frame), small_dataset)
    assert [(v.check, v.column) for v in report.violations] == [("range", "f1")]
    assert "too large" in report.render()


def test_large_but_scalable_values_pass(small_frame, small_dataset):
    assert validate(small_frame.assign(f1=small_frame["f1"] * 1e100), small_dataset).ok
