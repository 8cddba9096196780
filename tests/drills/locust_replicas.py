"""The Locust scenario of the drills: /v1/predict at a fixed pace over the ready replicas.

Like a Kubernetes Service, a replica whose readiness fails (draining after SIGTERM) gets no
new requests; requests already sent finish. Locust imports this file in its own process.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import gevent
import requests
from locust import HttpUser, constant_throughput, events, task

BACKENDS = os.environ["MLSYS_DRILL_BACKENDS"].split(",")
_ready: list[str] = list(BACKENDS)
_turn = itertools.count()


def _watch_readiness() -> None:
    session = requests.Session()
    while True:
        found = []
        for backend in BACKENDS:
            try:
                if session.get(f"{backend}/readyz", timeout=1).status_code == 200:
                    found.append(backend)
            except requests.RequestException:
                pass
        _ready[:] = found or _ready
        gevent.sleep(0.1)


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _start_watching(**_: Any) -> None:
    gevent.spawn(_watch_readiness)


class Client(HttpUser):
    wait_time = constant_throughput(float(os.environ["MLSYS_DRILL_USER_RPS"]))

    def on_start(self) -> None:
        key = Path(os.environ["MLSYS_DRILL_KEY_FILE"]).read_text().strip()
        self.client.headers["Authorization"] = f"Bearer {key}"
        self.body = json.loads(Path(os.environ["MLSYS_DRILL_REQUEST_FILE"]).read_text())

    @task
    def predict(self) -> None:
        backend = _ready[next(_turn) % len(_ready)]
        with self.client.post(
            f"{backend}/v1/predict", json=self.body, name="/v1/predict", catch_response=True
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}")
