"""A TestClient against the model the pipeline produced, loaded through the registry."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ApiSettings


def wait_ready(client: TestClient, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.05)
    manager = client.app.state.manager  # type: ignore[attr-defined]
    raise AssertionError(f"API not ready after {timeout}s: {manager.last_error}")


@pytest.fixture
def api_settings(trained_home: Path) -> ApiSettings:
    return ApiSettings(home=trained_home, poll_interval_seconds=3600, load_retry_seconds=0.2)


@pytest.fixture
def api(api_settings: ApiSettings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as client:
        wait_ready(client)
        yield client


@pytest.fixture
def holdout_rows(trained_home: Path) -> list[dict[str, Any]]:
    """Real rows the model has never been trained on, with their true labels."""
    with (trained_home / "work" / "holdout.csv").open() as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


@pytest.fixture
def feature_rows(holdout_rows: list[dict[str, Any]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "target"} for row in holdout_rows]
