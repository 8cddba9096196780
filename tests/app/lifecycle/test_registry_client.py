"""The REST registry client against a fake tracking server: aliases, auth, artifact downloads."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from app.lifecycle.registry_client import (
    RegistryError,
    ResolvedVersion,
    RestRegistry,
    TrackingCredentials,
    registry_for,
)
from tests.servers import free_port

FILES = {"MLmodel": b"signature: {}\n", "extra_files/reference_stats.json": b"{}"}


def _server(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path, params = request.url.path, request.url.params
        if path.endswith("/registered-models/alias"):
            if params["alias"] != "champion":
                return httpx.Response(404, json={"error_code": "RESOURCE_DOES_NOT_EXIST"})
            version = {
                "version": "3",
                "run_id": "r",
                "source": "s",
                "tags": [
                    {"key": "artifact_sha256", "value": "ab" * 32},
                    {"key": "metric.roc_auc", "value": "0.99"},
                ],
            }
            return httpx.Response(200, json={"model_version": version})
        if path.endswith("/get-download-uri"):
            return httpx.Response(200, json={"artifact_uri": "mlflow-artifacts:/1/m/artifacts"})
        if path == "/api/2.0/mlflow-artifacts/artifacts":
            listing = {
                "1/m/artifacts": [{"path": "MLmodel"}, {"path": "extra_files", "is_dir": True}],
                "1/m/artifacts/extra_files": [{"path": "reference_stats.json"}],
            }[params["path"]]
            return httpx.Response(200, json={"files": listing})
        name = path.removeprefix("/api/2.0/mlflow-artifacts/artifacts/1/m/artifacts/")
        return httpx.Response(200, content=FILES[name])

    return httpx.MockTransport(handle)


def test_alias_resolution_and_tags():
    client = RestRegistry("http://mlflow:5000/", transport=_server([]))
    found = client.resolve_alias("m", "champion")
    assert found is not None and found.version == "3" and found.alias == "champion"
    assert found.artifact_sha256 == "ab" * 32 and found.metrics == {"roc_auc": 0.99}
    assert client.resolve_alias("m", "nobody") is None


def test_a_version_folder_is_copied_through_the_artifact_proxy(tmp_path: Path):
    client = RestRegistry("http://mlflow:5000", transport=_server([]))
    version = ResolvedVersion("m", "3", "champion", None, "")
    folder = client.download(version, tmp_path / "v3")
    assert {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} == set(FILES)


@pytest.mark.parametrize(
    ("credentials", "header"),
    [
        (TrackingCredentials(token=SecretStr("tok")), "Bearer tok"),
        (
            TrackingCredentials(username="svc", password=SecretStr("pw")),
            "Basic " + base64.b64encode(b"svc:pw").decode(),
        ),
        (TrackingCredentials(), None),
    ],
)
def test_credentials_from_settings_authenticate_every_call(credentials, header):
    seen: list[httpx.Request] = []
    RestRegistry("http://mlflow:5000", credentials, _server(seen)).resolve_alias("m", "champion")
    assert seen[0].headers.get("authorization") == header


def test_an_unreachable_server_is_a_registry_error():
    client = RestRegistry(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RegistryError, match="cannot reach the registry"):
        client.resolve_alias("m", "champion")


def test_http_uris_get_the_rest_client():
    assert isinstance(registry_for("https://mlflow.example"), RestRegistry)
