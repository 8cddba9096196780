"""Input bounds: the training range widened by the margin, never tighter, float32 at most."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from app.contract.input_bounds import DEFAULT_MARGIN, bounded_columns, feature_bounds
from app.model_contract import FLOAT32_MAX, InputColumn, build_reference
from app.wiring.settings import ApiSettings

NAMES = ["area", "year", "flag", "huge"]
TRAIN = np.array(
    [
        [143.5, 2001.0, 0.0, 1e37],
        [2501.0, 2010.0, 0.0, 3e38],
        [700.0, 2005.0, 0.0, 2e38],
    ]
)
COLUMNS = [InputColumn(n, "number") for n in NAMES]


def _bounds(train: np.ndarray, names: list[str], margin: float) -> tuple[np.ndarray, np.ndarray]:
    bounds = feature_bounds(build_reference(train, names), margin)
    assert bounds is not None
    return bounds


def test_each_feature_is_widened_by_the_margin_times_its_scale():
    low, high = _bounds(TRAIN, NAMES, 10.0)
    # area: its range (2357.5) is below its largest magnitude (2501), which sets the scale.
    assert (low[0], high[0]) == (143.5 - 25010.0, 2501.0 + 25010.0)
    # year: a narrow range far from zero is bounded by its magnitude, not by 9 years.
    assert low[1] <= 2001.0 - 10 * 2010.0 and high[1] >= 2010.0 + 10 * 2010.0
    # flag: a feature that was always 0 still accepts values of the order of 1.
    assert (low[2], high[2]) == (-10.0, 10.0)
    # huge: widening past float32 stops at float32.
    assert (low[3], high[3]) == (-FLOAT32_MAX, FLOAT32_MAX)


def test_bounds_contain_every_training_value_at_any_margin():
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, size=(200, 5)) * rng.uniform(1e-6, 1e6, size=5)
    names = [f"f{j}" for j in range(5)]
    for margin in (0.0, DEFAULT_MARGIN, 1e6):
        low, high = _bounds(train, names, margin)
        assert np.all(train >= low) and np.all(train <= high)
        assert np.all(low >= -FLOAT32_MAX) and np.all(high <= FLOAT32_MAX)


def test_columns_get_the_bounds_and_say_they_come_from_training():
    columns, from_training = bounded_columns(COLUMNS, build_reference(TRAIN, NAMES), 1.0)
    assert from_training
    assert (columns[0].low, columns[0].high) == (143.5 - 2501.0, 2501.0 * 2)
    assert [c.name for c in columns] == NAMES


@pytest.mark.parametrize("case", ["off", "no-reference", "no-range"])
def test_without_a_training_range_or_with_the_margin_off_only_float32_bounds_apply(case):
    reference = build_reference(TRAIN, NAMES)
    if case == "no-range":
        for feature in reference["features"]:
            del feature["min"], feature["max"]
    columns, from_training = bounded_columns(
        COLUMNS,
        None if case == "no-reference" else reference,
        "off" if case == "off" else DEFAULT_MARGIN,
    )
    assert not from_training
    assert all((c.low, c.high) == (-FLOAT32_MAX, FLOAT32_MAX) for c in columns)


# The setting lives in app/wiring/settings.py; tested here with the bounds it configures.
@pytest.mark.parametrize(("raw", "expected"), [("off", "off"), ("2.5", 2.5), ("0", 0.0)])
def test_the_margin_setting_takes_a_number_or_off(monkeypatch, raw, expected):
    monkeypatch.setenv("MLSYS_API_INPUT_BOUNDS_MARGIN", raw)
    assert ApiSettings(auth_enabled=False).input_bounds_margin == expected


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "none"])
def test_a_negative_or_non_finite_margin_is_refused(monkeypatch, raw):
    monkeypatch.setenv("MLSYS_API_INPUT_BOUNDS_MARGIN", raw)
    with pytest.raises(ValidationError, match="input_bounds_margin"):
        ApiSettings(auth_enabled=False)


def test_the_margin_defaults_to_ten(monkeypatch):
    monkeypatch.delenv("MLSYS_API_INPUT_BOUNDS_MARGIN", raising=False)
    assert ApiSettings(auth_enabled=False).input_bounds_margin == DEFAULT_MARGIN == 10.0
