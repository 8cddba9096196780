"""The API as it really runs: ``python -m app`` under uvicorn, over a socket."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, running

pytestmark = pytest.mark.slow


def test_serves_predictions_logs_json_and_stops_gracefully(
    trained_home: Path, tmp_path: Path, feature_rows
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "api.log"
    env = {"MLSYS_HOME": str(trained_home), "MLSYS_API_PORT": str(port)}
    with running([sys.executable, "-m", "app"], f"{base}/readyz", env=env, log=log) as process:
        response = httpx.post(f"{base}/v1/predict", json={"rows": feature_rows[:2]}, timeout=5)
        assert response.status_code == 200
        assert len(response.json()["predictions"]) == 2
        assert "server" not in response.headers
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status says why.
        assert process.wait(15) in (0, -signal.SIGTERM)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("message") == "Application shutdown complete." for line in lines)
    access = [line for line in lines if line.get("route") == "/v1/predict"]
    assert access and access[0]["status"] == 200 and access[0]["request_id"]
    assert any(line.get("message") == "model swapped in" for line in lines)
