"""The server: the drain on SIGTERM, and ``python -m app`` for real under uvicorn (slow)."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.wiring.server import DrainingServer
from tests.app.conftest import Keys, wait_until
from tests.servers import free_port, running


def _env(home: Path, keys: Keys, port: int, metrics_port: int) -> dict[str, str]:
    return {
        "MLSYS_HOME": str(home),
        "MLSYS_API_PORT": str(port),
        "MLSYS_API_METRICS_PORT": str(metrics_port),
        "MLSYS_API_API_KEYS_FILE": str(keys.file),
        "MLSYS_API_RATE_LIMIT_PER_SECOND": "100000",
        "MLSYS_API_RATE_LIMIT_BURST": "100000",
        "MLSYS_API_SHUTDOWN_DRAIN_SECONDS": "1",
    }


@pytest.mark.slow
def test_serves_logs_json_exposes_metrics_and_stops_gracefully(
    trained_home: Path, keys: Keys, tmp_path: Path, feature_rows
):
    port, metrics_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "api.log"
    env = _env(trained_home, keys, port, metrics_port)
    with running([sys.executable, "-m", "app"], f"{base}/readyz", env=env, log=log) as process:
        response = httpx.post(
            f"{base}/v1/predict", json={"rows": feature_rows[:2]}, headers=keys.bearer(keys.predict)
        )
        assert response.status_code == 200
        assert "server" not in response.headers
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert 'route="/v1/predict",status="200"' in scraped
        assert httpx.get(f"{base}/metrics").status_code == 404
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status says why.
        assert process.wait(15) in (0, -signal.SIGTERM)
    text = log.read_text()
    assert keys.predict not in text  # the key id is logged, never the key
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(line.get("message") == "Application shutdown complete." for line in lines)
    access = [line for line in lines if line.get("route") == "/v1/predict"]
    assert access[0]["status"] == 200 and access[0]["key_id"] == "client-a"
    assert any(line.get("message") == "model swapped in" for line in lines)


@pytest.mark.slow
def test_sigterm_under_load_drains_and_loses_no_request(
    trained_home: Path, keys: Keys, tmp_path: Path, feature_rows
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = _env(trained_home, keys, port, free_port())
    body = {"rows": (feature_rows * 4)[:500]}
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    routed_away = threading.Event()  # what a load balancer does once readiness fails

    def balancer() -> None:
        while not routed_away.is_set():
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 503:
                    routed_away.set()
            except httpx.TransportError:
                routed_away.set()
            time.sleep(0.02)

    def client() -> None:
        with httpx.Client(base_url=base, headers=keys.bearer(keys.predict), timeout=10) as http:
            while not routed_away.is_set():
                try:
                    r = http.post("/v1/predict", json=body)
                    outcome = "ok" if r.status_code == 200 else f"status {r.status_code}"
                except httpx.HTTPError as exc:
                    outcome = f"lost: {type(exc).__name__}"
                with lock:
                    outcomes[outcome] += 1

    log = tmp_path / "api.log"
    with running([sys.executable, "-m", "app"], f"{base}/readyz", env=env, log=log) as process:
        threads = [threading.Thread(target=client) for _ in range(6)]
        threads.append(threading.Thread(target=balancer))
        for thread in threads:
            thread.start()
        wait_until(lambda: outcomes["ok"] > 10, timeout=30, what="10 answered requests")
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) in (0, -signal.SIGTERM)
        stopped_after = time.monotonic() - signalled
        for thread in threads:
            thread.join(15)
    assert set(outcomes) == {"ok"}, outcomes
    assert 1.0 <= stopped_after < 10  # drained for 1 s, then stopped within the grace period
    assert "draining before shutdown" in log.read_text()


@pytest.mark.slow
def test_ctrl_c_stops_without_draining(trained_home: Path, keys: Keys, tmp_path: Path):
    port = free_port()
    env = {**_env(trained_home, keys, port, free_port()), "MLSYS_API_SHUTDOWN_DRAIN_SECONDS": "30"}
    log = tmp_path / "api.log"
    with running(
        [sys.executable, "-m", "app"], f"http://127.0.0.1:{port}/readyz", env=env, log=log
    ) as process:
        process.send_signal(signal.SIGINT)
        assert process.wait(10) in (0, -signal.SIGINT, 130)
    assert "draining before shutdown" not in log.read_text()


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch):
    def build(drain_seconds: float) -> tuple[DrainingServer, threading.Event, threading.Event]:
        drained, exited = threading.Event(), threading.Event()
        server = DrainingServer(uvicorn.Config(app=None), drain_seconds, drained.set)
        monkeypatch.setattr(uvicorn.Server, "handle_exit", lambda *_: exited.set())
        return server, drained, exited

    return build


def test_sigterm_drains_first_then_exits(recorder):
    # Long enough that a loaded machine cannot run the timer before the first check.
    server, drained, exited = recorder(2.0)
    server.handle_exit(signal.SIGTERM, None)
    assert drained.is_set() and not exited.is_set()
    assert exited.wait(5)


def test_sigint_and_a_second_sigterm_exit_at_once(recorder):
    server, drained, exited = recorder(30)
    server.handle_exit(signal.SIGINT, None)
    assert exited.is_set() and not drained.is_set()
    server, drained, exited = recorder(30)
    server.handle_exit(signal.SIGTERM, None)
    assert drained.is_set() and not exited.is_set()
    server.handle_exit(signal.SIGTERM, None)
    assert exited.is_set()
