"""Shadow scoring: a sample of requests is re-scored by @challenger, off the request path."""

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Callable

import numpy as np

from app.lifecycle.served_model import ServedModel
from app.metrics import ApiMetrics

log = logging.getLogger("mlsys.api.shadow")


class ShadowScorer:
    """A bounded queue and one worker thread; when the queue is full, samples are dropped."""

    def __init__(
        self,
        challenger: Callable[[], ServedModel | None],
        metrics: ApiMetrics,
        sample_rate: float,
        queue_size: int = 256,
    ) -> None:
        self._challenger = challenger
        self._metrics = metrics
        self._rate = sample_rate
        self._queue: queue.Queue[tuple[np.ndarray, np.ndarray] | None] = queue.Queue(queue_size)
        self._thread: threading.Thread | None = None
        self._agree = 0
        self._total = 0
        self._random = random.Random()  # noqa: S311 - sampling, not security

    def offer(self, matrix: np.ndarray, champion_labels: np.ndarray) -> None:
        """Called on the request path: O(1), never blocks, never raises."""
        if self._challenger() is None or self._random.random() >= self._rate:
            return
        try:
            self._queue.put_nowait((matrix, champion_labels))
        except queue.Full:
            self._metrics.shadow_dropped.inc()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._score(*item)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _score(self, matrix: np.ndarray, champion_labels: np.ndarray) -> None:
        challenger = self._challenger()
        if challenger is None:
            return
        try:
            labels = challenger.predict(matrix).labels
        except Exception:  # a broken challenger must never affect serving
            log.exception("shadow prediction failed")
            return
        agree = int(np.sum(labels == champion_labels))
        self._metrics.shadow_rows.labels("agree").inc(agree)
        self._metrics.shadow_rows.labels("disagree").inc(len(labels) - agree)
        self._agree += agree
        self._total += len(labels)
        self._metrics.shadow_agreement.set(self._agree / self._total)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="shadow-scorer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(5)
            self._thread = None
