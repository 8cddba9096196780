"""The scoring routes through the scoring thread: concurrent requests batched, answers the same,
a refused request never holds its batch-mates back, and a full queue is a 503."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.lifecycle.batching import ScoringOverloadError
from app.wiring.settings import ApiSettings
from tests.app.conftest import Keys, client_for, metrics_text, wait_ready
from tests.app.registry_double import InMemoryRegistry


@pytest.fixture
def threaded(
    api_settings: ApiSettings, keys: Keys, registry: InMemoryRegistry
) -> Iterator[TestClient]:
    """The demo model scored on the scoring thread, as every non-linear model is."""
    settings = api_settings.model_copy(update={"score_linear_inline": False})
    with client_for(settings, keys.predict, registry) as client:
        wait_ready(client)
        yield client


def _stats(client: TestClient) -> Any:
    return client.app.state.mlsys.batcher.stats  # type: ignore[attr-defined]


def test_concurrent_requests_get_their_own_answers(
    threaded: TestClient, feature_rows: list[dict[str, float]]
) -> None:
    bodies = [{"rows": feature_rows[i : i + 1 + i % 3]} for i in range(24)]
    bad = {"rows": [{**feature_rows[0], "mean_radius": "wide"}]}
    alone = [threaded.post("/v1/predict", json=b).json()["probabilities"] for b in bodies]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: threaded.post("/v1/predict", json=b), [*bodies, bad]))
    assert answers[-1].status_code == 422
    for answer, expected in zip(answers[:-1], alone, strict=True):
        assert answer.status_code == 200
        for got, want in zip(answer.json()["probabilities"], expected, strict=True):
            np.testing.assert_allclose(list(got.values()), list(want.values()), atol=1e-12)
    assert _stats(threaded).timer_expired == 0
    assert "mlsys_batch_rows_count" in metrics_text(threaded)


def test_a_lone_request_does_not_wait_for_the_timer(
    threaded: TestClient, feature_rows: list[dict[str, float]]
) -> None:
    before = _stats(threaded).immediate
    assert threaded.post("/v1/predict", json={"rows": feature_rows[:1]}).status_code == 200
    assert _stats(threaded).immediate == before + 1
    assert _stats(threaded).waited == 0


def test_a_refused_body_releases_its_arrival(
    threaded: TestClient, feature_rows: list[dict[str, float]]
) -> None:
    batcher = threaded.app.state.mlsys.batcher  # type: ignore[attr-defined]
    assert threaded.post("/v1/predict", json={"rows": [{"x": 1.0}]}).status_code == 422
    assert threaded.post("/v1/predict", content=b"{").status_code == 400
    assert batcher._announced == 0


def test_a_full_scoring_queue_is_a_503(
    threaded: TestClient, feature_rows: list[dict[str, float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    batcher = threaded.app.state.mlsys.batcher  # type: ignore[attr-defined]

    async def full(*_: Any) -> None:
        raise ScoringOverloadError("the scoring queue is full")

    monkeypatch.setattr(batcher, "submit", full)
    answer = threaded.post("/v1/predict", json={"rows": feature_rows[:1]})
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "overloaded"
    assert answer.headers["retry-after"] == "1"
