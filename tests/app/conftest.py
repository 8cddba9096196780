"""A TestClient against the model the pipeline produced, loaded through the registry."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from app.auth import key_line, new_key
from app.main import create_app
from app.settings import ApiSettings


def wait_ready(client: TestClient, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.05)
    manager = client.app.state.mlsys.manager  # type: ignore[attr-defined]
    raise AssertionError(f"API not ready after {timeout}s: {manager.last_error}")


@dataclass(frozen=True)
class Keys:
    file: Path
    predict: str
    admin: str

    def bearer(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    """A key file with a predict-only key and an admin-only key."""
    predict, admin = new_key(), new_key()
    path = tmp_path / "api-keys"
    path.write_text(
        "# test keys\n"
        f"{key_line('client-a', predict, ['predict'])}\n"
        f"{key_line('operator', admin, ['admin'])}\n"
    )
    return Keys(file=path, predict=predict, admin=admin)


@pytest.fixture
def api_settings(trained_home: Path, keys: Keys) -> ApiSettings:
    return ApiSettings(
        home=trained_home,
        api_keys_file=keys.file,
        metrics_port=None,
        poll_interval_seconds=3600,
        load_retry_seconds=0.2,
        rate_limit_per_second=10_000,
        rate_limit_burst=10_000,
    )


def client_for(settings: ApiSettings, key: str | None) -> TestClient:
    client = TestClient(create_app(settings))
    if key:
        client.headers["Authorization"] = f"Bearer {key}"
    return client


@pytest.fixture
def api(api_settings: ApiSettings, keys: Keys) -> Iterator[TestClient]:
    """A ready client that sends the predict-scoped key."""
    with client_for(api_settings, keys.predict) as client:
        wait_ready(client)
        yield client


def metrics_text(client: TestClient) -> str:
    registry = client.app.state.mlsys.metrics.registry  # type: ignore[attr-defined]
    return generate_latest(registry).decode()


@pytest.fixture
def holdout_rows(trained_home: Path) -> list[dict[str, Any]]:
    """Real rows the model has never been trained on, with their true labels."""
    with (trained_home / "work" / "holdout.csv").open() as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


@pytest.fixture
def feature_rows(holdout_rows: list[dict[str, Any]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "target"} for row in holdout_rows]
