"""Shadow scoring: @challenger re-scores a sample off the request path and never answers."""

from __future__ import annotations

import numpy as np
import pytest

from app.lifecycle.shadow import ShadowScorer
from app.metrics import ApiMetrics
from tests.app.conftest import client_for, metrics_text, wait_ready, wait_until


def _sample(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def test_shadow_scoring_exports_agreement_and_never_answers(
    api_settings, keys, registry, weak_folder, feature_rows
):
    registry.set_alias("challenger", registry.publish(weak_folder))
    settings = api_settings.model_copy(update={"shadow_enabled": True, "shadow_sample_rate": 1.0})
    with client_for(settings, keys.predict, registry) as client:
        wait_ready(client)
        swapper = client.app.state.mlsys.swapper
        wait_until(lambda: swapper.shadow is not None, what="the shadow model loading")
        assert swapper.shadow.version.version == "2"
        for start in range(0, 100, 20):
            body = client.post(
                "/v1/predict", json={"rows": feature_rows[start : start + 20]}
            ).json()
            assert body["model_version"] == "1"

        def scored() -> float:
            text = metrics_text(client)
            agree = _sample(text, 'mlsys_shadow_rows_total{outcome="agree"}')
            return agree + _sample(text, 'mlsys_shadow_rows_total{outcome="disagree"}')

        wait_until(lambda: scored() == 100, what="100 shadow-scored rows")
        text = metrics_text(client)
        agree = _sample(text, 'mlsys_shadow_rows_total{outcome="agree"}')
        disagree = _sample(text, 'mlsys_shadow_rows_total{outcome="disagree"}')
        assert agree + disagree == 100
        assert disagree > 0  # the weaker challenger calls some malignant cases benign
        assert _sample(text, "mlsys_shadow_agreement_ratio") == pytest.approx(agree / 100)


def test_a_full_queue_drops_samples_instead_of_blocking():
    metrics = ApiMetrics()
    scorer = ShadowScorer(lambda: object(), metrics, sample_rate=1.0, queue_size=1)  # type: ignore[arg-type,return-value]
    matrix, labels = np.zeros((1, 2)), np.zeros(1)
    scorer.offer(matrix, labels)  # not started: the one slot stays taken
    scorer.offer(matrix, labels)
    assert metrics.registry.get_sample_value("mlsys_shadow_dropped_total") == 1.0


def test_nothing_is_offered_without_a_challenger():
    metrics = ApiMetrics()
    scorer = ShadowScorer(lambda: None, metrics, sample_rate=1.0, queue_size=1)
    for _ in range(3):
        scorer.offer(np.zeros((1, 2)), np.zeros(1))
    assert metrics.registry.get_sample_value("mlsys_shadow_dropped_total") == 0.0
