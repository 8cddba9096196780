"""Registry access: resolve an alias to a model version and fetch its folder.

Two backends behind one interface. A tracking server (``http(s)://``) is spoken to over
MLflow's REST API with a small HTTP client, so the serving image needs neither the MLflow
library nor pandas and starts in well under a second. Any other URI (the embedded SQLite
store, a database) goes through the MLflow library, imported only then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from pydantic import SecretStr

from app.model_contract import ARTIFACT_SHA_TAG, METRIC_TAG_PREFIX

if TYPE_CHECKING:
    import httpx

_TIMEOUT_SECONDS = 10.0
# What MLflow answers for an unset alias (a database store) or an unknown model (a server).
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class RegistryError(RuntimeError):
    """The registry could not be reached or does not hold what we asked for."""


class ArtifactDownloadError(RegistryError):
    """The registry answered, but a version's files could not be fetched from its store."""


@dataclass(frozen=True)
class TrackingCredentials:
    """How to authenticate to a tracking server: a bearer token, or a user and password."""

    token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None


@dataclass(frozen=True)
class ResolvedVersion:
    name: str
    version: str
    alias: str
    run_id: str | None
    source: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def artifact_sha256(self) -> str | None:
        return self.tags.get(ARTIFACT_SHA_TAG)

    @property
    def metrics(self) -> dict[str, float]:
        return {
            key.removeprefix(METRIC_TAG_PREFIX): float(value)
            for key, value in self.tags.items()
            if key.startswith(METRIC_TAG_PREFIX)
        }


class Registry(Protocol):
    def resolve_alias(self, name: str, alias: str) -> ResolvedVersion | None: ...

    def download(self, version: ResolvedVersion, target: Path) -> Path: ...


class LibraryRegistry:
    """Through the MLflow library; the only way to reach a store that has no server."""

    def __init__(self, uri: str) -> None:
        from mlflow import MlflowClient

        self.uri = uri
        self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def resolve_alias(self, name: str, alias: str) -> ResolvedVersion | None:
        from mlflow.exceptions import MlflowException

        try:
            found = self._client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code in _NOT_FOUND:
                return None
            raise RegistryError(f"cannot resolve {name}@{alias}: {exc.message}") from exc
        return ResolvedVersion(
            name=name,
            version=str(found.version),
            alias=alias,
            run_id=found.run_id,
            source=str(found.source),
            tags=dict(found.tags or {}),
        )

    def download(self, version: ResolvedVersion, target: Path) -> Path:
        from mlflow.artifacts import download_artifacts
        from mlflow.exceptions import MlflowException

        try:
            uri = self._client.get_model_version_download_uri(version.name, version.version)
            return Path(
                download_artifacts(artifact_uri=uri, dst_path=str(target), tracking_uri=self.uri)
            )
        except (MlflowException, OSError) as exc:
            raise ArtifactDownloadError(
                f"cannot download {version.name} v{version.version}: {exc}"
            ) from exc


def _error_code(response: httpx.Response) -> str | None:
    try:
        code = response.json().get("error_code")
    except ValueError:
        return None
    return str(code) if code else None


class RestRegistry:
    """MLflow's REST API: alias lookup, download URI, and the server's artifact proxy."""

    def __init__(
        self,
        uri: str,
        credentials: TrackingCredentials | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        self.uri = uri.rstrip("/")
        credentials = credentials or TrackingCredentials()
        auth: tuple[str, str] | None = None
        headers = {}
        if credentials.token is not None and credentials.token.get_secret_value():
            headers["Authorization"] = f"Bearer {credentials.token.get_secret_value()}"
        elif credentials.username:
            password = credentials.password.get_secret_value() if credentials.password else ""
            auth = (credentials.username, password)
        self._http = httpx.Client(
            base_url=self.uri,
            auth=auth,
            headers=headers,
            timeout=_TIMEOUT_SECONDS,
            transport=transport,
        )

    def _get(self, endpoint: str, **params: str) -> Any:
        import httpx

        try:
            response = self._http.get(endpoint, params=params)
        except httpx.HTTPError as exc:
            raise RegistryError(f"cannot reach the registry at {self.uri}: {exc}") from exc
        if response.status_code in (400, 404) and _error_code(response) in _NOT_FOUND:
            return None
        if response.status_code != 200:
            raise RegistryError(
                f"registry answered {response.status_code} for {endpoint}: {response.text[:200]}"
            )
        return response.json() if "json" in response.headers.get("content-type", "") else response

    def resolve_alias(self, name: str, alias: str) -> ResolvedVersion | None:
        body = self._get("/api/2.0/mlflow/registered-models/alias", name=name, alias=alias)
        if body is None:
            return None
        found = body["model_version"]
        return ResolvedVersion(
            name=name,
            version=str(found["version"]),
            alias=alias,
            run_id=found.get("run_id"),
            source=str(found.get("source", "")),
            tags={t["key"]: t["value"] for t in found.get("tags", [])},
        )

    def download(self, version: ResolvedVersion, target: Path) -> Path:
        try:
            return self._download(version, target)
        except ArtifactDownloadError:
            raise
        except RegistryError as exc:
            raise ArtifactDownloadError(str(exc)) from exc

    def _download(self, version: ResolvedVersion, target: Path) -> Path:
        body = self._get(
            "/api/2.0/mlflow/model-versions/get-download-uri",
            name=version.name,
            version=version.version,
        )
        if body is None:
            raise RegistryError(f"{version.name} v{version.version} has no download URI")
        artifact_uri = str(body["artifact_uri"])
        parsed = urlparse(artifact_uri)
        if parsed.scheme != "mlflow-artifacts":
            raise RegistryError(
                f"artifacts at {artifact_uri} are not served by the tracking server; run it "
                "with --serve-artifacts (the default) so the API needs no storage credentials"
            )
        self._copy_tree(parsed.path.lstrip("/"), target)
        return target

    def _copy_tree(self, remote: str, local: Path) -> None:
        listing = self._get("/api/2.0/mlflow-artifacts/artifacts", path=remote) or {}
        local.mkdir(parents=True, exist_ok=True)
        for entry in listing.get("files", []):
            name = Path(entry["path"]).name
            if entry.get("is_dir"):
                self._copy_tree(f"{remote}/{name}", local / name)
                continue
            response = self._get(f"/api/2.0/mlflow-artifacts/artifacts/{remote}/{name}")
            if response is None:
                raise RegistryError(f"artifact {remote}/{name} vanished during download")
            (local / name).write_bytes(response.content)


def registry_for(uri: str, credentials: TrackingCredentials | None = None) -> Registry:
    """The REST client for a tracking server, else the MLflow library for a bare store."""
    if urlparse(uri).scheme in ("http", "https"):
        return RestRegistry(uri, credentials)
    try:
        return LibraryRegistry(uri)
    except ImportError as exc:
        raise RegistryError(
            f"{uri} has no tracking server in front of it, which needs the MLflow library "
            "(pip install '.[training]'); the serving image talks to a tracking server over HTTP"
        ) from exc
