"""Model updates with zero downtime: hot swap under load, reload, failed loads, shadowing."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from mlflow import MlflowClient

from app.main import create_app
from app.registry import RestRegistry
from app.settings import ApiSettings
from tests.app.conftest import Keys, client_for, metrics_text, wait_ready
from tests.servers import free_port
from training.config import load_config
from training.pipeline import run_all
from training.workspace import Workspace

pytestmark = pytest.mark.slow
NAME = "breast-cancer-classifier"


@pytest.fixture
def registry(trained_home: Path) -> MlflowClient:
    """The trained store plus a second version (a weaker model, kept as @challenger)."""
    weaker = load_config(overrides={"model": {"params": {"C": 0.0005}}})
    assert not run_all(weaker, Workspace(trained_home / "work-v2")).decision.promoted
    uri = f"sqlite:///{trained_home / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture
def live_server(api_settings: ApiSettings) -> Iterator[tuple[str, object]]:
    port = free_port()
    app = create_app(api_settings.model_copy(update={"port": port}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    yield base, app
    server.should_exit = True
    thread.join(10)


def test_hot_swap_under_concurrent_load_fails_no_request(
    registry: MlflowClient, live_server, keys: Keys, feature_rows
):
    base, _ = live_server
    stop = threading.Event()
    seen: Counter[str] = Counter()
    failures: list[str] = []
    lock = threading.Lock()

    def load() -> None:
        with httpx.Client(base_url=base, headers=keys.bearer(keys.predict), timeout=10) as http:
            while not stop.is_set():
                try:
                    r = http.post("/v1/predict", json={"rows": feature_rows[:20]})
                except httpx.HTTPError as exc:
                    with lock:
                        failures.append(repr(exc))
                    continue
                with lock:
                    if r.status_code == 200:
                        seen[r.json()["model_version"]] += 1
                    else:
                        failures.append(f"{r.status_code} {r.text[:100]}")

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    admin = httpx.Client(base_url=base, headers=keys.bearer(keys.admin), timeout=30)
    for target in ("2", "1", "2", "1", "2"):
        registry.set_registered_model_alias(NAME, "champion", target)
        assert admin.post("/admin/reload").json()["model_version"] == target
        time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert failures == []
    assert seen["1"] > 0 and seen["2"] > 0


def _tamper_hash(registry: MlflowClient) -> str:
    registry.set_model_version_tag(NAME, "2", "artifact_sha256", "0" * 64)
    return "hash mismatch"


def _remove_artifact(registry: MlflowClient) -> str:
    folder = Path(registry.get_model_version_download_uri(NAME, "2").removeprefix("file://"))
    (folder / "model.skops").unlink()
    return "does not exist"


@pytest.mark.parametrize("break_it", [_tamper_hash, _remove_artifact])
def test_a_version_that_fails_its_checks_never_replaces_the_champion(
    registry: MlflowClient, api_settings, keys, feature_rows, break_it
):
    expected_error = break_it(registry)
    with client_for(api_settings, keys.admin) as client:
        wait_ready(client)
        registry.set_registered_model_alias(NAME, "champion", "2")
        outcome = client.post("/admin/reload").json()
        assert outcome["outcome"] == "failed" and expected_error in outcome["error"]
        assert outcome["model_version"] == "1"
        assert client.get("/readyz").json()["model_version"] == "1"
        predicted = client.post(
            "/v1/predict",
            json={"rows": feature_rows[:1]},
            headers={"Authorization": f"Bearer {keys.predict}"},
        )
        assert predicted.status_code == 200 and predicted.json()["model_version"] == "1"
        text = metrics_text(client)
        assert (
            'mlsys_model_load_failures_total{alias="champion",reason="ArtifactError"} 1.0' in text
        )


def test_registry_outage_keeps_serving(api_settings, keys, monkeypatch):
    with client_for(api_settings, keys.admin) as client:
        wait_ready(client)
        # A registry that is down: nothing listens on this port.
        down = RestRegistry(f"http://127.0.0.1:{free_port()}")
        monkeypatch.setattr(client.app.state.mlsys.manager, "_registry", down)
        outcome = client.post("/admin/reload").json()
        assert outcome["outcome"] == "failed" and "cannot reach the registry" in outcome["error"]
        assert client.get("/readyz").status_code == 200
        assert 'reason="RegistryError"' in metrics_text(client)


def test_shadow_scoring_exports_agreement_and_never_answers(
    registry: MlflowClient, api_settings, keys, feature_rows
):
    settings = api_settings.model_copy(update={"shadow_enabled": True, "shadow_sample_rate": 1.0})
    with client_for(settings, keys.predict) as client:
        wait_ready(client)
        deadline = time.monotonic() + 20
        while client.app.state.mlsys.manager.shadow is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.app.state.mlsys.manager.shadow.version.version == "2"
        for start in range(0, 100, 20):
            body = client.post(
                "/v1/predict", json={"rows": feature_rows[start : start + 20]}
            ).json()
            assert body["model_version"] == "1"
        assert client.app.state.mlsys.shadow.drain()
        text = metrics_text(client)
        agree = _sample(text, 'mlsys_shadow_rows_total{outcome="agree"}')
        disagree = _sample(text, 'mlsys_shadow_rows_total{outcome="disagree"}')
        assert agree + disagree == 100
        assert disagree > 0  # the weaker challenger calls some malignant cases benign
        assert _sample(text, "mlsys_shadow_agreement_ratio") == pytest.approx(agree / 100)


def _sample(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not exported")
