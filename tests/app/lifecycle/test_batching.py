"""Micro-batching: batched answers equal one-by-one answers, errors stay with their request,
snapshots never mix, and a request that arrives alone is scored without waiting."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from app.lifecycle.batching import (
    MicroBatcher,
    ScoringOverloadError,
    compiled_linear,
    predict_with,
)
from app.lifecycle.registry_client import ResolvedVersion
from app.lifecycle.served_model import Prediction, ServedModel
from app.model_contract import InputColumn, build_reference
from tests.app.conftest import Dataset, fit

VERSION = ResolvedVersion("m", "1", "champion", None, "")
KINDS = ["logistic_regression", "random_forest", "hist_gradient_boosting"]
LONG_WAIT = 10.0  # a timer no test may hit: reaching it would show up in the stats


@pytest.fixture(scope="module")
def models(dataset: Dataset) -> dict[str, ServedModel]:
    """One served snapshot per kind the pipeline trains, each a scaler plus the estimator."""
    trees = {
        "random_forest": RandomForestClassifier(n_estimators=20, random_state=0),
        "hist_gradient_boosting": HistGradientBoostingClassifier(max_iter=20, random_state=0),
    }
    estimators: dict[str, Any] = {"logistic_regression": fit(dataset)}
    for kind, tree in trees.items():
        pipeline = Pipeline([("scale", StandardScaler()), ("model", tree)])
        estimators[kind] = pipeline.fit(dataset.train, dataset.train_labels)
    columns = [InputColumn(n, "number") for n in dataset.names]
    reference = build_reference(dataset.train, dataset.names)
    return {
        kind: ServedModel.build(VERSION, est, columns, dataset.train[:5], reference)
        for kind, est in estimators.items()
    }


def _run(batcher: MicroBatcher, work: Callable[[], Awaitable[Any]]) -> Any:
    batcher.start()
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    finally:
        batcher.stop()


async def _together(
    batcher: MicroBatcher, jobs: list[tuple[ServedModel, np.ndarray]]
) -> list[Prediction | BaseException]:
    """Submit ``jobs`` as concurrent requests that all announced themselves first."""
    arrivals = [batcher.arrival() for _ in jobs]
    return await asyncio.gather(
        *(batcher.submit(m, x, a) for (m, x), a in zip(jobs, arrivals, strict=True)),
        return_exceptions=True,
    )


def _assert_same(result: Prediction | BaseException, alone: Prediction) -> None:
    """Identical labels; probabilities within 1e-12 (BLAS may sum a product in another order
    for another row count, so the linear fast path differs in the last bits)."""
    assert isinstance(result, Prediction)
    np.testing.assert_allclose(result.probabilities, alone.probabilities, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(result.labels, alone.labels)
    np.testing.assert_array_equal(result.class_index, alone.class_index)


def _batcher(**overrides: Any) -> MicroBatcher:
    settings: dict[str, Any] = {"max_rows": 1000, "max_wait_seconds": LONG_WAIT, "max_queued": 64}
    return MicroBatcher(**(settings | overrides))


@pytest.mark.parametrize("kind", KINDS)
def test_batched_answers_equal_one_by_one(
    kind: str, models: dict[str, ServedModel], dataset: Dataset
) -> None:
    model = models[kind]
    sizes = [1, 3, 1, 7, 2, 1, 16, 1]
    starts = np.cumsum([0, *sizes])
    matrices = [dataset.holdout[a:b] for a, b in itertools.pairwise(starts)]
    batcher = _batcher()
    results = _run(batcher, lambda: _together(batcher, [(model, x) for x in matrices]))
    assert batcher.stats.batches == 1 and batcher.stats.requests == len(sizes)
    for matrix, result in zip(matrices, results, strict=True):
        _assert_same(result, model.predict(matrix))


def test_a_lone_request_is_scored_without_waiting(
    models: dict[str, ServedModel], dataset: Dataset
) -> None:
    batcher = _batcher()
    model = models["logistic_regression"]

    async def one() -> Prediction:
        return await batcher.submit(model, dataset.holdout[:1], batcher.arrival())

    started = time.monotonic()
    result = _run(batcher, one)
    assert time.monotonic() - started < LONG_WAIT / 2
    assert batcher.stats.immediate == 1
    assert batcher.stats.waited == 0 and batcher.stats.timer_expired == 0
    _assert_same(result, model.predict(dataset.holdout[:1]))


def test_a_request_refused_in_validation_releases_its_batch_mates(
    models: dict[str, ServedModel], dataset: Dataset
) -> None:
    """Its arrival closes without rows: the others are scored then, not at the timer."""
    batcher = _batcher()
    model = models["random_forest"]

    async def work() -> list[Prediction]:
        good, bad, also_good = batcher.arrival(), batcher.arrival(), batcher.arrival()
        first = asyncio.ensure_future(batcher.submit(model, dataset.holdout[:2], good))
        await asyncio.sleep(0)
        bad.close()  # what the route does when the contract refuses the body
        bad.close()  # idempotent, as the route's ``finally`` may close it again
        second = batcher.submit(model, dataset.holdout[2:3], also_good)
        return list(await asyncio.gather(first, second))

    results = _run(batcher, work)
    assert batcher.stats.timer_expired == 0
    assert [len(r.labels) for r in results] == [2, 1]


def test_a_failing_model_call_fails_only_the_request_that_caused_it(
    models: dict[str, ServedModel], dataset: Dataset
) -> None:
    batcher = _batcher()
    model = models["hist_gradient_boosting"]
    wrong_width = np.ones((1, len(dataset.names) + 1))
    jobs = [(model, dataset.holdout[:2]), (model, wrong_width), (model, dataset.holdout[2:5])]
    results = _run(batcher, lambda: _together(batcher, jobs))
    assert batcher.stats.batches == 1 and batcher.stats.split_after_error == 1
    assert isinstance(results[1], ValueError)
    for (_, matrix), result in ((jobs[0], results[0]), (jobs[2], results[2])):
        _assert_same(result, model.predict(matrix))


def test_requests_on_different_snapshots_are_never_batched_together(
    models: dict[str, ServedModel], dataset: Dataset
) -> None:
    calls: list[tuple[ServedModel, int]] = []

    def recording(model: ServedModel, matrix: np.ndarray) -> Prediction:
        calls.append((model, len(matrix)))
        return predict_with(model, matrix)

    old, new = models["logistic_regression"], models["random_forest"]
    batcher = _batcher(predict=recording)
    x = dataset.holdout
    jobs = [(old, x[:1]), (old, x[1:3]), (new, x[3:4]), (old, x[4:5])]
    results = _run(batcher, lambda: _together(batcher, jobs))
    assert calls == [(old, 3), (new, 1), (old, 1)]
    for (model, matrix), result in zip(jobs, results, strict=True):
        _assert_same(result, model.predict(matrix))


def test_a_batch_stops_at_max_rows_and_reports_its_size(
    models: dict[str, ServedModel], dataset: Dataset
) -> None:
    observed: list[tuple[int, int]] = []
    batcher = _batcher(max_rows=4, observe=lambda rows, requests: observed.append((rows, requests)))
    model = models["logistic_regression"]
    jobs = [(model, dataset.holdout[i : i + 2]) for i in range(0, 6, 2)]
    _run(batcher, lambda: _together(batcher, jobs))
    assert observed == [(4, 2), (2, 1)]


class _Gate:
    """A model call that blocks until released, to hold the scoring thread busy."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, model: ServedModel, matrix: np.ndarray) -> Prediction:
        self.entered.set()
        assert self.release.wait(LONG_WAIT)
        return predict_with(model, matrix)


def test_a_full_queue_refuses_at_once(models: dict[str, ServedModel], dataset: Dataset) -> None:
    gate = _Gate()
    batcher = _batcher(max_queued=1, predict=gate)
    model = models["logistic_regression"]

    async def work() -> tuple[Prediction, Prediction]:
        busy = asyncio.ensure_future(batcher.submit(model, dataset.holdout[:1]))
        await asyncio.to_thread(gate.entered.wait, LONG_WAIT)  # the thread holds the first
        queued = asyncio.ensure_future(batcher.submit(model, dataset.holdout[1:2]))
        await asyncio.sleep(0)
        arrival = batcher.arrival()
        with pytest.raises(ScoringOverloadError):
            await batcher.submit(model, dataset.holdout[2:3], arrival)
        assert not arrival.open
        gate.release.set()
        return await busy, await queued

    first, second = _run(batcher, work)
    assert len(first.labels) == len(second.labels) == 1


def test_stop_drains_queued_requests_then_refuses(
    models: dict[str, ServedModel], dataset: Dataset
) -> None:
    gate = _Gate()
    batcher = _batcher(predict=gate)
    model = models["logistic_regression"]
    batcher.start()

    async def work() -> list[Prediction]:
        pending = [
            asyncio.ensure_future(batcher.submit(model, dataset.holdout[i : i + 1]))
            for i in range(3)
        ]
        await asyncio.to_thread(gate.entered.wait, LONG_WAIT)
        stopping = asyncio.ensure_future(asyncio.to_thread(batcher.stop))
        await asyncio.sleep(0.05)
        gate.release.set()
        results = list(await asyncio.gather(*pending))
        await stopping
        with pytest.raises(ScoringOverloadError):
            await batcher.submit(model, dataset.holdout[:1])
        return results

    assert len(asyncio.run(work())) == 3
    assert batcher.stats.requests == 3


def test_the_start_hook_runs_on_the_scoring_thread(
    models: dict[str, ServedModel], dataset: Dataset
) -> None:
    names: list[str] = []
    batcher = _batcher(on_start=lambda: names.append(threading.current_thread().name))
    model = models["logistic_regression"]
    _run(batcher, lambda: batcher.submit(model, dataset.holdout[:1]))
    assert names == ["scoring"]


def test_cheap_models_are_scored_inline_and_the_rest_on_the_thread(
    models: dict[str, ServedModel], dataset: Dataset
) -> None:
    batcher = _batcher(inline=compiled_linear)
    linear, forest = models["logistic_regression"], models["random_forest"]
    assert linear.compiled.engine == "numpy-linear"

    async def work() -> list[Prediction]:
        return [
            await batcher.submit(linear, dataset.holdout[:2], batcher.arrival(linear)),
            await batcher.submit(forest, dataset.holdout[:2], batcher.arrival(forest)),
        ]

    # An inline model's request is never announced: no batch could wait for it.
    announced = batcher.arrival(forest)
    assert announced.open and not batcher.arrival(linear).open
    announced.close()
    results = _run(batcher, work)
    assert batcher.stats.inline == 1 and batcher.stats.requests == 1
    assert batcher._announced == 0
    _assert_same(results[0], linear.predict(dataset.holdout[:2]))
    _assert_same(results[1], forest.predict(dataset.holdout[:2]))
