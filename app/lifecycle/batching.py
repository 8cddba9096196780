"""Adaptive micro-batching: concurrent requests' rows scored in one model call on one thread.

scikit-learn's per-call cost dwarfs its per-row cost (a 100-tree forest: ~10 ms for 1 row or
64), so requests that arrive together are stacked into one call. One daemon thread owns
every model call, which keeps the event loop free to accept, parse and answer probes.

The batcher never waits when nothing else is coming: requests announce themselves (an
``Arrival``) once their body is read, and the scoring thread waits for more rows only while
an announced request is still being validated, and never past ``max_wait_seconds``. A
request that arrives alone is therefore scored at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.lifecycle.served_model import Prediction, ServedModel

log = logging.getLogger("mlsys.api.model")

Predict = Callable[[ServedModel, np.ndarray], Prediction]
# Called on the scoring thread after each model call with (rows, requests).
BatchObserver = Callable[[int, int], None]


class ScoringOverloadError(RuntimeError):
    """The queue of requests waiting for the scoring thread is full, or it is shutting down."""


def predict_with(model: ServedModel, matrix: np.ndarray) -> Prediction:
    return model.predict(matrix)


def never_inline(model: ServedModel) -> bool:
    return False


def compiled_linear(model: ServedModel) -> bool:
    """The compiled scaler-plus-logistic-regression: one matrix product of a few microseconds,
    less than handing it to another thread costs, and nothing to gain from batching."""
    return model.compiled.engine == "numpy-linear"


@dataclass(slots=True)
class _Job:
    model: ServedModel
    matrix: np.ndarray
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Prediction]


@dataclass
class BatchStats:
    """What the scoring thread did; read by tests and logged at shutdown."""

    batches: int = 0
    requests: int = 0
    rows: int = 0
    # Batches started at once because no other request was queued or announced.
    immediate: int = 0
    # Batches that waited for announced requests; and those whose wait hit the timer.
    waited: int = 0
    timer_expired: int = 0
    # Batches whose shared model call failed, so each request was scored on its own.
    split_after_error: int = 0
    # Requests scored on the event loop because their model is cheap enough (``inline``).
    inline: int = 0


@dataclass(slots=True)
class Arrival:
    """A request whose body is read and whose rows will be submitted shortly (or never)."""

    batcher: MicroBatcher
    open: bool = True

    def close(self) -> None:
        """Idempotent: the request submitted its rows, or failed before it could."""
        if self.open:
            self.open = False
            self.batcher._withdraw()


@dataclass
class MicroBatcher:
    """Gathers requests' feature matrices into one call per model snapshot.

    Requests holding different snapshots are never batched together: a batch takes queued
    jobs in order for as long as they share the first one's model, so a hot swap falls
    between two batches. Over ``max_queued`` waiting requests, ``submit`` refuses at once
    (``ScoringOverloadError``, answered 503) rather than letting latency grow without bound.
    """

    max_rows: int
    max_wait_seconds: float
    max_queued: int
    predict: Predict = predict_with
    # Models cheap enough to score on the caller's thread, without the hop or the batch.
    inline: Callable[[ServedModel], bool] = never_inline
    observe: BatchObserver | None = None
    # Runs first on the scoring thread: per-thread settings such as OpenMP's pool size.
    on_start: Callable[[], object] | None = None
    stats: BatchStats = field(default_factory=BatchStats)
    _queue: deque[_Job] = field(default_factory=deque)
    _announced: int = 0
    _closing: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="scoring", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Refuse new work, finish what is queued, then end the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        log.info(
            "scoring thread stopped",
            extra={"batches": self.stats.batches, "requests": self.stats.requests},
        )

    def arrival(self, model: ServedModel | None = None) -> Arrival:
        """Announce a request that will submit soon, so a forming batch may wait for it.

        A request for a model scored inline never joins a batch: nothing waits for it, and its
        arrival is closed from the start (no lock taken, no waiter woken).
        """
        if model is not None and self.inline(model):
            return Arrival(self, open=False)
        with self._cond:
            self._announced += 1
        return Arrival(self)

    def _withdraw(self) -> None:
        with self._cond:
            self._announced -= 1
            self._cond.notify_all()

    async def submit(
        self, model: ServedModel, matrix: np.ndarray, arrival: Arrival | None = None
    ) -> Prediction:
        """Score ``matrix`` with ``model`` in the next batch; its own rows come back."""
        if self.inline(model):
            if arrival is not None:
                arrival.close()
            self.stats.inline += 1
            return self.predict(model, matrix)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Prediction] = loop.create_future()
        with self._cond:
            if self._closing or len(self._queue) >= self.max_queued:
                if arrival is not None:
                    arrival.close()
                raise ScoringOverloadError("the scoring queue is full")
            if self._thread is None:  # an app served without its lifespan (a bare test client)
                self.start()
            self._queue.append(_Job(model, matrix, loop, future))
            if arrival is not None and arrival.open:
                arrival.open = False
                self._announced -= 1
            self._cond.notify_all()
        return await future

    def _run(self) -> None:
        if self.on_start is not None:
            try:
                self.on_start()
            except Exception:  # a default-sized pool is slower, never wrong
                log.exception("scoring thread set-up failed; continuing with defaults")
        while True:
            batch = self._take()
            if batch is None:
                return
            self._score(batch)

    def _take(self) -> list[_Job] | None:
        """The next batch: everything queued for the head's model, plus what is announced."""
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            batch = [self._queue.popleft()]
            rows = len(batch[0].matrix)
            model = batch[0].model
            deadline: float | None = None
            while rows < self.max_rows:
                head = self._queue[0] if self._queue else None
                if head is not None:
                    if head.model is not model or rows + len(head.matrix) > self.max_rows:
                        break
                    batch.append(self._queue.popleft())
                    rows += len(head.matrix)
                    continue
                if self._announced <= 0 or self._closing:
                    break
                # Another request is being validated right now; its rows will come in
                # well under the wait unless it fails, which wakes this thread as well.
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.max_wait_seconds
                    self.stats.waited += 1
                if now >= deadline:
                    self.stats.timer_expired += 1
                    break
                self._cond.wait(deadline - now)
            if deadline is None:
                self.stats.immediate += 1
            return batch

    def _score(self, batch: list[_Job]) -> None:
        outcomes: list[Prediction | BaseException]
        model = batch[0].model
        try:
            if len(batch) == 1:
                outcomes = [self.predict(model, batch[0].matrix)]
            else:
                whole = self.predict(model, np.concatenate([job.matrix for job in batch]))
                outcomes = _split(whole, [len(job.matrix) for job in batch])
        except Exception as exc:  # one request's rows must not fail its batch-mates
            if len(batch) == 1:
                outcomes = [exc]
            else:
                self.stats.split_after_error += 1
                outcomes = [self._score_alone(job) for job in batch]
        rows = sum(len(job.matrix) for job in batch)
        self.stats.batches += 1
        self.stats.requests += len(batch)
        self.stats.rows += rows
        if self.observe is not None:
            self.observe(rows, len(batch))
        _deliver(batch, outcomes)

    def _score_alone(self, job: _Job) -> Prediction | BaseException:
        try:
            return self.predict(job.model, job.matrix)
        except Exception as exc:
            return exc


def _split(whole: Prediction, sizes: list[int]) -> list[Prediction | BaseException]:
    parts: list[Prediction | BaseException] = []
    start = 0
    for size in sizes:
        end = start + size
        parts.append(
            Prediction(
                whole.labels[start:end],
                whole.probabilities[start:end],
                whole.class_index[start:end],
            )
        )
        start = end
    return parts


_Outcome = tuple[asyncio.Future[Prediction], Prediction | BaseException]


def _resolve(pairs: list[_Outcome]) -> None:
    for future, outcome in pairs:
        if future.done():  # cancelled: the request timed out or its client left
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _deliver(batch: list[_Job], outcomes: list[Prediction | BaseException]) -> None:
    """One wake-up per event loop per batch, however many requests it held."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for job, outcome in zip(batch, outcomes, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, outcome))
    for loop, pairs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, pairs)
        except RuntimeError:  # the loop closed while its requests were being scored
            continue
