"""The Locust scenario ``loadtest`` runs: authenticated /v1/predict calls at a steady pace.

Locust imports this file itself; the key and the pace come from the environment so the key
never appears on a command line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from locust import HttpUser, constant_throughput, task

from infra.release.loadtest import KEY_FILE_VARIABLE, PACE_VARIABLE, REQUEST_FILE_VARIABLE


def _body_from_signature(model: dict[str, Any]) -> dict[str, Any]:
    columns = model["signature"]["inputs"]
    return {"rows": [{column["name"]: 1.0 for column in columns}]}


class PredictionClient(HttpUser):
    """One client sending predictions; each user is capped at the configured requests/s."""

    wait_time = constant_throughput(float(os.environ.get(PACE_VARIABLE, "3")))

    def on_start(self) -> None:
        key = Path(os.environ[KEY_FILE_VARIABLE]).read_text().strip()
        self.client.headers["Authorization"] = f"Bearer {key}"
        request_file = os.environ.get(REQUEST_FILE_VARIABLE)
        if request_file:
            self.body: dict[str, Any] = json.loads(Path(request_file).read_text())
            return
        # Metadata is fetched outside the measured requests' name, so it cannot skew them.
        with self.client.get("/v1/model", name="setup: /v1/model", catch_response=True) as answer:
            self.body = _body_from_signature(answer.json()) if answer.ok else {"rows": []}

    @task
    def predict(self) -> None:
        with self.client.post("/v1/predict", json=self.body, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}")
