"""The served snapshot: built only from a classifier that passes its smoke test."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from app.lifecycle.registry_client import ResolvedVersion
from app.lifecycle.served_model import ServedModel
from app.model_contract import ArtifactError, InputColumn
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
