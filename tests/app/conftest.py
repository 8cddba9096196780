"""Fixtures for the API: an in-memory model behind a registry double (fast), or the real store.

The fast tier trains one small scikit-learn pipeline per session on the breast-cancer data
bundled with scikit-learn and publishes it to ``InMemoryRegistry``; no MLflow run happens.
Tests marked ``slow`` use ``trained_home`` (the whole pipeline and the MLflow registry).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from app.http.auth import key_line, new_key
from app.lifecycle.registry_client import Registry
from app.wiring.factory import create_app
from app.wiring.settings import ApiSettings
from tests.app.registry_double import InMemoryRegistry, public_key_pem, write_model_folder


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "it") -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.01)


def wait_ready(client: TestClient, timeout: float = 30.0) -> None:
    swapper = client.app.state.mlsys.swapper  # type: ignore[attr-defined]
    try:
        wait_until(lambda: client.get("/readyz").status_code == 200, timeout)
    except AssertionError:
        raise AssertionError(f"API not ready after {timeout}s: {swapper.last_error}") from None


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


@dataclass(frozen=True)
class Dataset:
    names: list[str]
    train: np.ndarray
    train_labels: np.ndarray
    holdout: np.ndarray
    holdout_labels: np.ndarray


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    """scikit-learn's breast-cancer data with the pipeline's column names, split 70/30."""
    bunch = load_breast_cancer()
    names = [str(n).replace(" ", "_") for n in bunch.feature_names]
    order = np.random.default_rng(0).permutation(len(bunch.target))
    cut = int(len(order) * 0.7)
    x, y = bunch.data[order], bunch.target[order]
    return Dataset(names, x[:cut], y[:cut], x[cut:], y[cut:])


def fit(dataset: Dataset, c: float = 1.0) -> Pipeline:
    model = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=c, max_iter=2000))])
    return model.fit(dataset.train, dataset.train_labels)


@pytest.fixture(scope="session")
def champion_folder(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Version 1: a good model, written once per session (downloads copy it)."""
    root = tmp_path_factory.mktemp("champion") / "v1"
    return write_model_folder(root, fit(dataset), dataset.names, dataset.train)


@pytest.fixture(scope="session")
def weak_folder(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Version 2: heavily regularised, so it disagrees with the champion on some rows."""
    root = tmp_path_factory.mktemp("weak") / "v2"
    return write_model_folder(root, fit(dataset, c=0.0005), dataset.names, dataset.train)


@pytest.fixture(scope="session")
def champion_auc(dataset: Dataset) -> float:
    model = fit(dataset)
    return float(roc_auc_score(dataset.holdout_labels, model.predict_proba(dataset.holdout)[:, 1]))


@pytest.fixture
def registry(champion_folder: Path, champion_auc: float) -> InMemoryRegistry:
    """A registry whose @champion is version 1."""
    double = InMemoryRegistry()
    double.set_alias("champion", double.publish(champion_folder, {"roc_auc": champion_auc}))
    return double


@pytest.fixture
def signing_public_key(tmp_path: Path) -> Path:
    """The public half of the key the registry double signs with, as serving reads it."""
    path = tmp_path / "model-signing.pub.pem"
    path.write_bytes(public_key_pem())
    return path


@pytest.fixture
def api_settings(tmp_path: Path, keys: Keys, signing_public_key: Path) -> ApiSettings:
    return ApiSettings(
        home=tmp_path / "unused-home",
        model_signing_public_key_file=signing_public_key,
        api_keys_file=keys.file,
        metrics_port=None,
        poll_interval_seconds=3600,
        load_retry_seconds=0.2,
        rate_limit_per_second=10_000,
        rate_limit_burst=10_000,
    )


def client_for(
    settings: ApiSettings, key: str | None, registry: Registry | None = None
) -> TestClient:
    client = TestClient(create_app(settings, registry))
    if key:
        client.headers["Authorization"] = f"Bearer {key}"
    return client


@pytest.fixture
def api(api_settings: ApiSettings, keys: Keys, registry: InMemoryRegistry) -> Iterator[TestClient]:
    """A ready client on the in-memory model that sends the predict-scoped key."""
    with client_for(api_settings, keys.predict, registry) as client:
        wait_ready(client)
        yield client


def metrics_text(client: TestClient) -> str:
    registry = client.app.state.mlsys.metrics.registry  # type: ignore[attr-defined]
    return generate_latest(registry).decode()


@pytest.fixture
def holdout_rows(dataset: Dataset) -> list[dict[str, Any]]:
    """Rows the model has never been trained on, with their true labels."""
    return [
        {**dict(zip(dataset.names, row, strict=True)), "target": float(label)}
        for row, label in zip(dataset.holdout.tolist(), dataset.holdout_labels, strict=True)
    ]


@pytest.fixture
def feature_rows(holdout_rows: list[dict[str, Any]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "target"} for row in holdout_rows]


# The slow tier: the real pipeline's model in the embedded MLflow store.


@pytest.fixture
def store_settings(trained_home: Path, keys: Keys) -> ApiSettings:
    return ApiSettings(
        home=trained_home,
        api_keys_file=keys.file,
        metrics_port=None,
        poll_interval_seconds=3600,
        load_retry_seconds=0.2,
        rate_limit_per_second=10_000,
        rate_limit_burst=10_000,
    )


@pytest.fixture
def store_feature_rows(trained_home: Path) -> list[dict[str, float]]:
    """Holdout rows of the pipeline's own split, without their labels."""
    with (trained_home / "work" / "holdout.csv").open() as handle:
        return [
            {k: float(v) for k, v in row.items() if k != "target"} for row in csv.DictReader(handle)
        ]
