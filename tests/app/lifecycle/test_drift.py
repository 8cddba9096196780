"""Population stability index: zero for the training distribution, large for a shift."""

from __future__ import annotations

import numpy as np

from app.lifecycle.drift import DriftWindow
from app.model_contract import build_reference, psi
from tests.app.conftest import metrics_text


def test_psi_of_identical_distributions_is_zero_and_grows_with_shift():
    expected = np.array([0.25, 0.25, 0.25, 0.25])
    assert psi(expected, expected) == 0.0
    assert psi(expected, np.array([0.4, 0.3, 0.2, 0.1])) > 0.1
    assert np.isfinite(psi(expected, np.array([1.0, 0.0, 0.0, 0.0])))


def test_window_keeps_only_the_latest_rows():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(5000, 2))
    window = DriftWindow(build_reference(train, ["a", "b"]), size=1000)
    window.add(rng.normal(size=(700, 2)))
    assert window.filled == 700
    assert max(window.scores().values()) < 0.05
    shifted = rng.normal(size=(1500, 2))
    shifted[:, 0] += 3.0
    window.add(shifted)  # more than the window: only the last 1000 rows stay
    assert window.filled == 1000
    scores = window.scores()
    assert scores["a"] > 1.0 and scores["b"] < 0.05


def test_api_exports_drift_per_feature(api, feature_rows):
    api.post("/v1/predict", json={"rows": feature_rows[:100]})
    shifted = [{**row, "mean_radius": row["mean_radius"] * 1.8} for row in feature_rows[:100]]
    api.post("/v1/predict", json={"rows": shifted})
    api.post("/v1/predict", json={"rows": shifted})
    text = metrics_text(api)
    values = {
        line.split('"')[1]: float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("mlsys_feature_drift_psi{")
    }
    assert len(values) == 30
    assert values["mean_radius"] > 1.0
    assert values["mean_texture"] < 0.25
    assert "mlsys_drift_window_rows 300.0" in text
