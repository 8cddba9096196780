"""Keeps the served model current: loads in the background, checks, and swaps atomically."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from enum import StrEnum
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from app.artifact import ArtifactError
from app.metrics import ApiMetrics
from app.model_runtime import LoadedModel, build_loaded_model
from app.registry import RegistryError, fetch_model, resolve_alias
from app.settings import ApiSettings

log = logging.getLogger("mlsys.api.model")


class RefreshOutcome(StrEnum):
    LOADED = "loaded"
    UNCHANGED = "unchanged"
    NO_VERSION = "no_version"
    FAILED = "failed"


class ModelManager:
    """Readers take ``current`` without a lock: rebinding one attribute is atomic in Python,
    and a ``LoadedModel`` never changes, so a request finishes on the model it started with."""

    def __init__(self, settings: ApiSettings, metrics: ApiMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.registry_uri = settings.registry_uri(os.environ.get("MLFLOW_TRACKING_URI"))
        self._current: LoadedModel | None = None
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def _client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.registry_uri, registry_uri=self.registry_uri)

    def _cache_dir(self, version: str) -> Path:
        base = self.settings.model_cache_dir
        if base is None:
            return Path(tempfile.mkdtemp(prefix=f"mlsys-model-v{version}-"))
        target = base / self.settings.model_name / version
        target.mkdir(parents=True, exist_ok=True)
        return target

    def refresh(self) -> RefreshOutcome:
        """Check the alias once; load, verify and swap in a new version if it moved."""
        with self._load_lock:
            name, alias = self.settings.model_name, self.settings.model_alias
            try:
                version = resolve_alias(self._client(), name, alias)
                if version is None:
                    self.last_error = f"{name}@{alias} is not set in the registry"
                    return RefreshOutcome.NO_VERSION
                current = self._current
                if current is not None and current.version.version == version.version:
                    return RefreshOutcome.UNCHANGED
                estimator, folder = fetch_model(version, self._cache_dir(version.version))
                loaded = build_loaded_model(version, estimator, folder)
            except (RegistryError, ArtifactError, MlflowException, OSError, ValueError) as exc:
                reason = type(exc).__name__
                self.metrics.model_load_failures.labels(reason=reason).inc()
                self.last_error = str(exc)
                log.error(
                    "model load failed; keeping the current model",
                    extra={"reason": reason, "error": str(exc)},
                )
                return RefreshOutcome.FAILED
            self._swap(loaded)
            return RefreshOutcome.LOADED

    def _swap(self, loaded: LoadedModel) -> None:
        previous = self._current
        self._current = loaded
        self.last_error = None
        if previous is not None:
            self.metrics.model_info.remove(
                previous.version.name, previous.version.version, previous.version.alias
            )
        self.metrics.model_info.labels(
            loaded.version.name, loaded.version.version, loaded.version.alias
        ).set(1)
        self.metrics.model_loads.inc()
        self.metrics.model_ready.set(1)
        log.info(
            "model swapped in",
            extra={
                "model": loaded.version.name,
                "version": loaded.version.version,
                "previous": previous.version.version if previous else None,
            },
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            wait = (
                self.settings.poll_interval_seconds
                if self._current
                else self.settings.load_retry_seconds
            )
            self._stop.wait(wait)

    def start(self) -> None:
        """Load and poll in a daemon thread, so start-up never blocks on the registry."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="model-refresh", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
