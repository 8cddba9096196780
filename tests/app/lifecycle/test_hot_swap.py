"""Model updates with zero downtime: alias moves under concurrent load fail no request (slow)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from app.wiring.factory import create_app
from app.wiring.settings import ApiSettings
from tests.app.conftest import Keys, wait_until
from tests.app.registry_double import InMemoryRegistry
from tests.servers import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def live_server(
    api_settings: ApiSettings, registry: InMemoryRegistry, weak_folder
) -> Iterator[str]:
    registry.publish(weak_folder)
    port = free_port()
    app = create_app(api_settings.model_copy(update={"port": port}), registry)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/readyz").status_code == 200
        except httpx.TransportError:
            return False

    wait_until(ready, what="the server answering ready")
    yield base
    server.should_exit = True
    thread.join(10)


def test_hot_swap_under_concurrent_load_fails_no_request(
    registry: InMemoryRegistry, live_server: str, keys: Keys, feature_rows
):
    stop = threading.Event()
    seen: Counter[str] = Counter()
    failures: list[str] = []
    lock = threading.Lock()

    def load() -> None:
        with httpx.Client(base_url=live_server, headers=keys.bearer(keys.predict)) as http:
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
    admin = httpx.Client(base_url=live_server, headers=keys.bearer(keys.admin), timeout=30)
    for target in ("2", "1", "2", "1", "2"):
        registry.set_alias("champion", target)
        assert admin.post("/admin/reload").json()["model_version"] == target
        # Let the load threads answer from this version a few times before the next swap.
        with lock:
            before = seen[target]
        wait_until(lambda t=target, b=before: seen[t] >= b + 5, what=f"answers from v{target}")
    stop.set()
    for thread in threads:
        thread.join(10)
    assert failures == []
    assert seen["1"] > 0 and seen["2"] > 0
