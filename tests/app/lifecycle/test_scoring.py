"""Scoring: every input the contract accepts gets a finite answer, and no NaN reaches a metric."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from prometheus_client import generate_latest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

from app.contract.input_matrix import from_records
from app.http.errors import ApiError
from app.lifecycle.registry_client import ResolvedVersion
from app.lifecycle.scoring import NonFiniteOutputError, score
from app.lifecycle.served_model import ServedModel
from app.metrics import ApiMetrics
from app.model_contract import FLOAT32_MAX, InputColumn, build_reference
from tests.app.conftest import fit

VERSION = ResolvedVersion("m", "1", "champion", None, "")
KINDS = ["logistic", "forest", "boosting"]


@pytest.fixture(scope="module")
def estimators(dataset: Any) -> dict[str, Any]:
    """One fitted model of each kind, shared: fitting boosted trees is the slow part."""
    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0)
    boosting = HistGradientBoostingClassifier(max_iter=10, random_state=0)
    return {
        "logistic": fit(dataset),
        "forest": forest.fit(dataset.train, dataset.train_labels),
        "boosting": boosting.fit(dataset.train, dataset.train_labels),
    }


def _served(estimator: Any, dataset: Any, margin: float | str = 10.0) -> ServedModel:
    return ServedModel.build(
        VERSION,
        estimator,
        [InputColumn(n, "number") for n in dataset.names],
        dataset.train[:5],
        build_reference(dataset.train, dataset.names),
        input_margin=margin,  # type: ignore[arg-type]
    )


def _edge_rows(model: ServedModel, count: int = 64) -> list[dict[str, float]]:
    """Both bounds of every feature, and random mixes of them: the extremes still accepted."""
    low, high = model.bounds
    pick = np.random.default_rng(0).integers(0, 2, size=(count, len(low))).astype(bool)
    matrix = np.vstack([low, high, np.where(pick, high, low)])
    return [dict(zip(model.feature_names, row, strict=True)) for row in matrix.tolist()]


def _score_sum(metrics: ApiMetrics) -> float:
    text = generate_latest(metrics.registry).decode()
    return float(text.split("mlsys_prediction_score_sum ")[1].split("\n")[0])


@pytest.mark.parametrize("margin", [10.0, "off"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_most_extreme_accepted_rows_score_finitely(dataset, estimators, kind, margin):
    model = _served(estimators[kind], dataset, margin)
    if margin == "off":
        assert np.all(model.bounds[1] == FLOAT32_MAX)
    rows = _edge_rows(model)
    metrics = ApiMetrics()
    result = score(model, from_records(rows, model.columns, "reject"), metrics, None, None)
    assert result.probabilities.shape == (len(rows), 2)
    assert np.all(np.isfinite(result.probabilities))
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0)
    assert 0.0 < _score_sum(metrics) <= len(rows)


@pytest.mark.parametrize("side", ["low", "high"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_value_just_past_a_bound_is_refused_naming_field_and_row(dataset, estimators, kind, side):
    model = _served(estimators[kind], dataset)
    low, high = model.bounds
    name = "mean_smoothness"
    j = model.feature_names.index(name)
    rows = _edge_rows(model, 3)
    rows[2][name] = float(
        np.nextafter(low[j], -np.inf) if side == "low" else np.nextafter(high[j], np.inf)
    )
    with pytest.raises(ApiError) as refused:
        from_records(rows, model.columns, "reject")
    assert refused.value.status == 422
    assert [d.field for d in refused.value.details] == [f"rows[2].{name}"]


def test_a_non_finite_output_is_counted_once_and_never_observed(dataset, estimators, caplog):
    def second_row_nan(x: np.ndarray) -> np.ndarray:
        proba = np.full((len(x), 2), 0.5)
        proba[1] = np.nan
        return proba

    model = _served(estimators["logistic"], dataset)
    broken = replace(model, compiled=replace(model.compiled, predict_proba=second_row_nan))
    metrics = ApiMetrics()
    with pytest.raises(NonFiniteOutputError) as refused:
        score(broken, dataset.holdout[:3], metrics, None, None)
    assert refused.value.rows == [1]
    text = generate_latest(metrics.registry).decode()
    assert 'mlsys_non_finite_outputs_total{version="1"} 1.0' in text
    assert "mlsys_prediction_score_count 0.0" in text and _score_sum(metrics) == 0.0
    assert [r.levelname for r in caplog.records if "non-finite" in r.getMessage()] == ["ERROR"]


def test_the_score_histogram_drops_nan_and_infinity():
    metrics = ApiMetrics()
    metrics.scores.observe_many(np.array([0.25, np.nan, 0.75, np.inf, -np.inf]))
    text = generate_latest(metrics.registry).decode()
    assert _score_sum(metrics) == 1.0 and "mlsys_prediction_score_count 2.0" in text
