"""Real servers for the release tools: app instances on a trained model, Prometheus, traffic.

Everything listens on 127.0.0.1 and is started once per session, since each app instance
loads the model and the trained store takes one pipeline run.
"""

from __future__ import annotations

import csv
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from app.http.auth import key_line, new_key
from tests.servers import free_port, running
from training.pipeline import RunResult


@dataclass(frozen=True)
class Api:
    """A running ``python -m app``: where it answers and where its metrics are scraped."""

    base_url: str
    metrics_port: int


@dataclass(frozen=True)
class Keys:
    hashes: Path
    key_file: Path


@pytest.fixture(scope="session")
def release_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """A key file for the servers and a 0600 file with the predict key for the tools."""
    folder = tmp_path_factory.mktemp("keys")
    key = new_key()
    hashes = folder / "api-keys"
    hashes.write_text(f"{key_line('release', key, ['predict'])}\n")
    key_file = folder / "predict-key"
    key_file.write_text(key)
    key_file.chmod(0o600)
    return Keys(hashes, key_file)


def _app_env(home: Path, keys: Keys, port: int, metrics_port: int) -> dict[str, str]:
    return {
        "MLSYS_HOME": str(home),
        "MLSYS_API_PORT": str(port),
        "MLSYS_API_METRICS_PORT": str(metrics_port),
        "MLSYS_API_API_KEYS_FILE": str(keys.hashes),
        "MLSYS_API_RATE_LIMIT_PER_SECOND": "100000",
        "MLSYS_API_RATE_LIMIT_BURST": "100000",
        "MLSYS_API_LOAD_RETRY_SECONDS": "0.5",
        "MLSYS_API_SHUTDOWN_DRAIN_SECONDS": "0",
    }


@dataclass(frozen=True)
class Apis:
    stable: Api
    canary: Api
    broken: Api  # no model in its store: every prediction is a 503


@pytest.fixture(scope="session")
def apis(
    _trained_home: tuple[Path, RunResult],
    release_keys: Keys,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Apis]:
    """Two healthy instances on the trained model and one that never loads a model."""
    root = tmp_path_factory.mktemp("apis")
    home = root / "home"
    shutil.copytree(_trained_home[0], home)
    empty_home = root / "empty"
    empty_home.mkdir()
    with ExitStack() as stack:
        started = {}
        for name, store, probe in (
            ("stable", home, "/readyz"),
            ("canary", home, "/readyz"),
            ("broken", empty_home, "/healthz"),
        ):
            port, metrics_port = free_port(), free_port()
            base = f"http://127.0.0.1:{port}"
            stack.enter_context(
                running(
                    [sys.executable, "-m", "app"],
                    f"{base}{probe}",
                    env=_app_env(store, release_keys, port, metrics_port),
                    log=root / f"{name}.log",
                )
            )
            started[name] = Api(base, metrics_port)
        yield Apis(**started)


class StubHandler(BaseHTTPRequestHandler):
    """Answers every GET and POST with ``status`` and a JSON error, after ``delay`` seconds."""

    status = 200
    delay = 0.0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.delay:
            time.sleep(self.delay)  # the behaviour under test: a slow backend
        body = b'{"error": {"code": "stub"}}'
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()


class FakeKubeStateMetrics(StubHandler):
    """Restart counters as kube-state-metrics exposes them: the broken pod restarts each scrape."""

    scrapes = 0

    def do_GET(self) -> None:
        type(self).scrapes += 1
        body = (
            "# TYPE kube_pod_container_status_restarts_total counter\n"
            'kube_pod_container_status_restarts_total{namespace="serving",'
            'pod="prediction-api-canary-good",container="api"} 0\n'
            'kube_pod_container_status_restarts_total{namespace="serving",'
            f'pod="prediction-api-canary-broken",container="api"}} {type(self).scrapes}\n'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A stub HTTP server on 127.0.0.1 in a thread; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prediction-api
    static_configs:
      - targets: ["127.0.0.1:{stable}"]
        labels: {{track: stable}}
      - targets: ["127.0.0.1:{canary}"]
        labels: {{track: canary}}
      - targets: ["127.0.0.1:{broken}"]
        labels: {{track: broken}}
  - job_name: kube-state-metrics
    static_configs:
      - targets: ["{kube_state_metrics}"]
"""


@pytest.fixture(scope="session")
def prometheus(apis: Apis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus scraping the three app instances and the restart counters."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed (apt-get install prometheus; .ci/run does it)")
    folder = tmp_path_factory.mktemp("prometheus")
    with serving(FakeKubeStateMetrics) as ksm:
        config = folder / "prometheus.yml"
        config.write_text(
            PROMETHEUS_CONFIG.format(
                stable=apis.stable.metrics_port,
                canary=apis.canary.metrics_port,
                broken=apis.broken.metrics_port,
                kube_state_metrics=ksm.removeprefix("http://"),
            )
        )
        port = free_port()
        argv = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        url = f"http://127.0.0.1:{port}"
        with running(argv, f"{url}/-/ready", log=folder / "prometheus.log"):
            yield url


@pytest.fixture(scope="session")
def traffic(apis: Apis, release_keys: Keys, feature_row: dict[str, float]) -> Iterator[None]:
    """Steady predictions to every instance (about 20/s each) while the session lasts."""
    stop = threading.Event()
    headers = {"Authorization": f"Bearer {release_keys.key_file.read_text()}"}

    def send(api: Api) -> None:
        with httpx.Client(base_url=api.base_url, headers=headers, timeout=5) as http:
            while not stop.wait(0.05):
                # The analysis reads what the servers recorded, not what the client saw.
                with suppress(httpx.HTTPError):
                    http.post("/v1/predict", json={"rows": [feature_row]})

    threads = [
        threading.Thread(target=send, args=(a,)) for a in (apis.stable, apis.canary, apis.broken)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)


@pytest.fixture(scope="session")
def feature_row(_trained_home: tuple[Path, RunResult]) -> dict[str, float]:
    """One holdout row of the trained model's own split."""
    with (_trained_home[0] / "work" / "holdout.csv").open() as handle:
        row = next(csv.DictReader(handle))
    return {k: float(v) for k, v in row.items() if k != "target"}
