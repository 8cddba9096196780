"""The production shape, for real: MLflow server on PostgreSQL with S3 artifacts (moto).

The pipeline trains and promotes through the server, the artifact lands in the S3 bucket,
and the prediction API loads the champion from that server.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient

from app.model_contract import LOCAL_SIGNING_PUBLIC_KEY_FILE
from app.wiring.factory import create_app
from app.wiring.settings import ApiSettings
from tests.app.conftest import wait_ready
from tests.postgres import PG, require_postgres
from tests.servers import free_port, mlflow_server_argv, running
from training.config import load_config
from training.pipeline import run_all
from training.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BUCKET = "mlflow-artifacts"


@pytest.fixture
def database() -> Iterator[str]:
    """A throw-away database, so runs never see each other's registry."""
    require_postgres()
    import psycopg2

    name = f"mlsys_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(**PG)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@pytest.fixture
def s3_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    moto = Path(sys.executable).with_name("moto_server")
    with running(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        f"{endpoint}/moto-api/",
        log=tmp_path / "moto.log",
    ):
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint


@pytest.fixture
def tracking_server(database: str, s3_endpoint: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    argv = mlflow_server_argv(database, f"s3://{BUCKET}/", port)
    url = f"http://127.0.0.1:{port}"
    with running(argv, f"{url}/health", log=tmp_path / "mlflow.log", timeout=120):
        yield url


def test_pipeline_and_api_through_postgres_and_s3(
    tracking_server: str, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    monkeypatch.setenv("MLSYS_HOME", str(tmp_path / "home"))
    result = run_all(load_config(), Workspace(tmp_path / "work"))
    assert result.decision.promoted

    keys = [
        o["Key"]
        for o in boto3.client("s3", endpoint_url=s3_endpoint)
        .list_objects_v2(Bucket=BUCKET)
        .get("Contents", [])
    ]
    assert any(key.endswith("/model.skops") for key in keys), keys
    assert any(key.endswith("confusion_matrix.png") for key in keys), keys
    assert not (tmp_path / "home" / "mlflow.db").exists()

    settings = ApiSettings(
        home=tmp_path / "unused",
        # The training step signed with the local pair under its MLSYS_HOME.
        model_signing_public_key_file=tmp_path / "home" / LOCAL_SIGNING_PUBLIC_KEY_FILE,
        auth_enabled=False,
        metrics_port=None,
        poll_interval_seconds=3600,
        load_retry_seconds=0.2,
    )
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        assert client.app.state.mlsys.swapper.registry_uri == tracking_server  # type: ignore[attr-defined]
        example = (tmp_path / "work" / "holdout.csv").read_text().splitlines()
        names = example[0].split(",")
        row = dict(zip(names, map(float, example[1].split(",")), strict=True))
        truth = int(row.pop("target"))
        response = client.post("/v1/predict", json={"rows": [row]})
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == [truth]
