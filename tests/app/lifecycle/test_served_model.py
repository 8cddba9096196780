"""The served snapshot: built only from a classifier that passes its smoke test, with the
input bounds of its training range."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from app.lifecycle.registry_client import ResolvedVersion
from app.lifecycle.served_model import ServedModel
from app.model_contract import FLOAT32_MAX, ArtifactError, InputColumn, build_reference
from tests.app.conftest import fit

VERSION = ResolvedVersion("m", "1", "champion", None, "")


def test_a_classifier_becomes_a_compiled_snapshot(dataset):
    columns = [InputColumn(n, "number") for n in dataset.names]
    model = ServedModel.build(VERSION, fit(dataset), columns, dataset.train[:5])
    assert model.compiled.engine == "numpy-linear" and model.class_names == ["0", "1"]
    result = model.predict(dataset.holdout[:4])
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0)
    assert list(result.labels) == [model.compiled.classes[i] for i in result.class_index]


def test_a_regressor_is_refused():
    x = np.arange(10.0).reshape(5, 2)
    with pytest.raises(ArtifactError, match="classifiers"):
        ServedModel.build(VERSION, LinearRegression().fit(x, x[:, 0]), [], x)


def test_the_smoke_test_refuses_non_finite_probabilities(dataset):
    columns = [InputColumn(n, "number") for n in dataset.names]
    model = ServedModel.build(VERSION, fit(dataset), columns, dataset.train[:2])
    broken = replace(
        model,
        compiled=replace(model.compiled, predict_proba=lambda x: np.full((len(x), 2), np.nan)),
    )
    with pytest.raises(ArtifactError, match="non-finite"):
        broken.smoke_test()


def test_columns_carry_the_training_range_widened_by_the_margin(dataset):
    columns = [InputColumn(n, "number") for n in dataset.names]
    reference = build_reference(dataset.train, dataset.names)
    model = ServedModel.build(
        VERSION, fit(dataset), columns, dataset.train[:5], reference, input_margin=2.0
    )
    low, high = model.bounds
    area = dataset.names.index("mean_area")
    lo, hi = dataset.train[:, area].min(), dataset.train[:, area].max()
    assert (low[area], high[area]) == (lo - 2 * hi, hi + 2 * hi)
    assert np.all(dataset.train >= low) and np.all(dataset.train <= high)
    assert [c.name for c in model.columns] == dataset.names


@pytest.mark.parametrize("case", ["off", "old-statistics", "no-statistics"])
def test_without_a_training_range_inputs_are_bounded_to_float32(dataset, caplog, case):
    columns = [InputColumn(n, "number") for n in dataset.names]
    reference = build_reference(dataset.train, dataset.names)
    if case == "old-statistics":
        for feature in reference["features"]:
            del feature["min"], feature["max"]
    with caplog.at_level(logging.WARNING, logger="mlsys.api.model"):
        model = ServedModel.build(
            VERSION,
            fit(dataset),
            columns,
            dataset.train[:5],
            None if case == "no-statistics" else reference,
            input_margin="off" if case == "off" else 10.0,
        )
    low, high = model.bounds
    assert np.all(low == -FLOAT32_MAX) and np.all(high == FLOAT32_MAX)
    warned = [r for r in caplog.records if "no training range" in r.getMessage()]
    assert len(warned) == (0 if case == "off" else 1)


def test_a_model_that_breaks_on_its_input_bounds_is_refused(dataset, monkeypatch):
    import app.lifecycle.served_model as served_model

    real = served_model.compile_model

    def overflowing(estimator, example, bounds=None):
        compiled = real(estimator, example, bounds)
        # Finite on the training data, NaN once a value is ten times past it: an overflow.
        limit = 10 * np.abs(dataset.train).max()

        def proba(x: np.ndarray) -> np.ndarray:
            result = compiled.predict_proba(x)
            result[np.abs(x).max(axis=1) > limit] = np.nan
            return result

        return replace(compiled, predict_proba=proba)

    monkeypatch.setattr(served_model, "compile_model", overflowing)
    columns = [InputColumn(n, "number") for n in dataset.names]
    reference = build_reference(dataset.train, dataset.names)
    with pytest.raises(ArtifactError, match="input bounds"):
        ServedModel.build(VERSION, fit(dataset), columns, dataset.train[:5], reference)
    built = ServedModel.build(
        VERSION, fit(dataset), columns, dataset.train[:5], reference, input_margin=1.0
    )
    assert np.all(np.isfinite(built.predict(np.vstack(built.bounds)).probabilities))


@pytest.mark.parametrize("reference", ["off", "old-statistics"])
def test_float32_bounds_narrow_until_a_scaled_forest_takes_them(dataset, caplog, reference):
    """A scaler turns 3.4e38 into ~1e41, which a tree's float32 cast makes infinite."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from app.contract.input_matrix import from_records
    from app.http.errors import ApiError

    forest = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0)
    pipeline = Pipeline([("scale", StandardScaler()), ("model", forest)])
    pipeline.fit(dataset.train, dataset.train_labels)
    statistics = build_reference(dataset.train, dataset.names)
    for feature in statistics["features"]:
        del feature["min"], feature["max"]
    columns = [InputColumn(n, "number") for n in dataset.names]
    with caplog.at_level(logging.WARNING, logger="mlsys.api.model"):
        model = ServedModel.build(
            VERSION,
            pipeline,
            columns,
            dataset.train[:5],
            statistics if reference == "old-statistics" else None,
            input_margin="off" if reference == "off" else 10.0,
        )
    low, high = model.bounds
    assert 1e30 < high[0] < FLOAT32_MAX and np.all(low == -high[0]) and np.all(high == high[0])
    assert any("cannot take every float32-finite input" in r.getMessage() for r in caplog.records)
    edge = [dict.fromkeys(dataset.names, high[0]), dict.fromkeys(dataset.names, low[0])]
    proba = model.predict(from_records(edge, model.columns, "reject")).probabilities
    assert np.all(np.isfinite(proba))
    with pytest.raises(ApiError) as refused:
        from_records([edge[0], dict.fromkeys(dataset.names, FLOAT32_MAX)], model.columns, "reject")
    assert refused.value.details[0].field == "rows[1].mean_radius"


def test_training_bounds_a_model_cannot_take_refuse_it(dataset, monkeypatch):
    import app.lifecycle.served_model as served_model

    real = served_model.compile_model

    def failing_far_out(estimator, example, bounds=None):
        compiled = real(estimator, example, bounds)
        limit = 10 * np.abs(dataset.train).max()

        def proba(x: np.ndarray) -> np.ndarray:
            if np.abs(x).max() > limit:
                raise ValueError("Input X contains infinity or a value too large")
            return compiled.predict_proba(x)

        return replace(compiled, predict_proba=proba)

    monkeypatch.setattr(served_model, "compile_model", failing_far_out)
    columns = [InputColumn(n, "number") for n in dataset.names]
    reference = build_reference(dataset.train, dataset.names)
    with pytest.raises(ArtifactError, match="MLSYS_API_INPUT_BOUNDS_MARGIN"):
        ServedModel.build(VERSION, fit(dataset), columns, dataset.train[:5], reference)
