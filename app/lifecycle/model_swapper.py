"""Keeps the served model current: loads in the background, checks, and swaps atomically."""

from __future__ import annotations

import gc
import logging
import tempfile
import threading
import time
from enum import StrEnum
from pathlib import Path

from app.lifecycle.artifact_loader import load_version
from app.lifecycle.drift import DriftCollector, DriftWindow
from app.lifecycle.registry_client import (
    Registry,
    ResolvedVersion,
    TrackingCredentials,
    registry_for,
)
from app.lifecycle.served_model import ServedModel
from app.metrics import ApiMetrics
from app.model_contract import SignatureError
from app.wiring.settings import ApiSettings

log = logging.getLogger("mlsys.api.model")


def _settle_garbage_collector() -> None:
    """Hide what lives as long as the server (its code, the model) from the cycle collector.

    A full collection walks every tracked object: with a model and the server's modules
    loaded that took 90-120 ms, several times a minute under load, stalling every request
    in flight (p99 of 100 ms at 16 connections for the tree models). Frozen objects are
    never walked, so collections during traffic only see request garbage. The previous
    freeze is undone first, so cyclic garbage of a model swapped out earlier is collected
    here rather than kept for ever; this one pause per swap is the price.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class RefreshOutcome(StrEnum):
    LOADED = "loaded"
    UNCHANGED = "unchanged"
    NO_VERSION = "no_version"
    FAILED = "failed"


class ModelSwapper:
    """Readers take ``current`` without a lock: rebinding one attribute is atomic in Python,
    and a ``ServedModel`` never changes, so a request finishes on the model it started with."""

    def __init__(
        self, settings: ApiSettings, metrics: ApiMetrics, registry: Registry | None = None
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.registry_uri = settings.registry_uri
        self._current: ServedModel | None = None
        self._shadow: ServedModel | None = None
        self._drift: DriftWindow | None = None
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._registry = registry
        self.last_error: str | None = None
        # When the registry stopped answering (monotonic), and the last failure logged per
        # alias: an outage or a broken version logs once, not once per poll.
        self._registry_down_since: float | None = None
        self._logged_failure: dict[str, str] = {}
        metrics.registry.register(DriftCollector(lambda: self._drift))

    @property
    def current(self) -> ServedModel | None:
        return self._current

    @property
    def shadow(self) -> ServedModel | None:
        return self._shadow

    @property
    def drift(self) -> DriftWindow | None:
        return self._drift

    def registry(self) -> Registry:
        # Built on first use, inside the loader thread, so start-up never waits for it.
        if self._registry is None:
            settings = self.settings
            credentials = TrackingCredentials(
                token=settings.mlflow_tracking_token,
                username=settings.mlflow_tracking_username,
                password=settings.mlflow_tracking_password,
            )
            self._registry = registry_for(self.registry_uri, credentials)
        return self._registry

    def _public_key(self) -> bytes:
        # Read at every load, so a rotated key file takes effect without a restart.
        path = self.settings.signing_public_key_path
        try:
            return path.read_bytes()
        except OSError as exc:
            raise SignatureError(
                f"cannot read the model-signing public key {path}: {exc.strerror}"
            ) from exc

    def _download_dir(self, version: str) -> tempfile.TemporaryDirectory[str]:
        """Scratch space for one download; the model lives in memory once it is built."""
        base = self.settings.model_cache_dir
        if base is not None:
            base.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(prefix=f"mlsys-model-v{version}-", dir=base)

    def _resolve(self, alias: str) -> tuple[Registry, ResolvedVersion | None]:
        """Ask the registry where ``alias`` points; the champion's lookup, made first on
        every poll, records whether the registry could be reached (a shadow alias's own
        failure is that alias's load failure, logged as one)."""
        try:
            registry = self.registry()
            version = registry.resolve_alias(self.settings.model_name, alias)
        except Exception as exc:
            if alias != self.settings.model_alias:
                raise
            self.metrics.registry_up.set(0)
            if self._registry_down_since is None:
                self._registry_down_since = time.monotonic()
                log.error(
                    "registry unreachable; serving the loaded model until it answers",
                    extra={"registry": self.registry_uri, "error": str(exc)},
                )
            raise
        if alias != self.settings.model_alias:
            return registry, version
        self.metrics.registry_up.set(1)
        self.metrics.registry_last_success.set(time.time())
        if self._registry_down_since is not None:
            log.info(
                "registry reachable again",
                extra={
                    "registry": self.registry_uri,
                    "down_seconds": round(time.monotonic() - self._registry_down_since, 1),
                },
            )
            self._registry_down_since = None
        return registry, version

    def _load(
        self, alias: str, have: ServedModel | None
    ) -> tuple[RefreshOutcome, ServedModel | None]:
        try:
            registry, version = self._resolve(alias)
            if version is None:
                self._logged_failure.pop(alias, None)
                return RefreshOutcome.NO_VERSION, None
            if have is not None and have.version.version == version.version:
                self._logged_failure.pop(alias, None)
                return RefreshOutcome.UNCHANGED, have
            public_key = self._public_key()
            with self._download_dir(version.version) as scratch:
                loaded = load_version(
                    registry,
                    version,
                    Path(scratch),
                    public_key,
                    self.settings.model_probe_timeout_seconds,
                    self.settings.input_bounds_margin,
                )
                self._logged_failure.pop(alias, None)
                return RefreshOutcome.LOADED, loaded
        except Exception as exc:
            reason = type(exc).__name__
            self.metrics.model_load_failures.labels(alias=alias, reason=reason).inc()
            if alias == self.settings.model_alias:
                self.last_error = str(exc)
            # The same failure again (the registry still down, the same bad version) is
            # counted by the metric above but not logged again.
            failure = f"{reason}: {exc}"
            outage = self._registry_down_since is not None and alias == self.settings.model_alias
            if not outage and self._logged_failure.get(alias) != failure:
                self._logged_failure[alias] = failure
                log.error(
                    "model load failed; keeping the current model",
                    extra={"alias": alias, "reason": reason, "error": str(exc)},
                )
            return RefreshOutcome.FAILED, None

    def refresh(self) -> RefreshOutcome:
        """Check the alias once; load, verify and swap in a new version if it moved."""
        with self._load_lock:
            outcome, loaded = self._load(self.settings.model_alias, self._current)
            if outcome is RefreshOutcome.NO_VERSION and self._current is None:
                self.last_error = (
                    f"{self.settings.model_name}@{self.settings.model_alias} is not set"
                )
            if outcome is RefreshOutcome.LOADED and loaded is not None:
                self._swap(loaded)
            if self.settings.shadow_enabled:
                self._refresh_shadow()
            return outcome

    def _refresh_shadow(self) -> None:
        outcome, loaded = self._load(self.settings.shadow_alias, self._shadow)
        if outcome is RefreshOutcome.NO_VERSION:
            self._shadow = None
        elif outcome is RefreshOutcome.LOADED and loaded is not None:
            if self._current and loaded.feature_names != self._current.feature_names:
                log.warning("shadow model has a different signature; not shadowing")
                self._shadow = None
            else:
                self._shadow = loaded
                log.info("shadow model loaded", extra={"version": loaded.version.version})
                self._settle()

    def _swap(self, loaded: ServedModel) -> None:
        previous = self._current
        drift = (
            DriftWindow(loaded.reference, self.settings.drift_window_rows)
            if loaded.reference
            else None
        )
        self._current, self._drift = loaded, drift
        self.last_error = None
        if previous is not None:
            self.metrics.model_info.remove(
                previous.version.name,
                previous.version.version,
                previous.version.alias,
                previous.compiled.engine,
            )
        self.metrics.model_info.labels(
            loaded.version.name,
            loaded.version.version,
            loaded.version.alias,
            loaded.compiled.engine,
        ).set(1)
        self.metrics.model_loads.inc()
        self.metrics.model_ready.set(1)
        log.info(
            "model swapped in",
            extra={
                "model": loaded.version.name,
                "version": loaded.version.version,
                "engine": loaded.compiled.engine,
                "previous": previous.version.version if previous else None,
            },
        )
        del previous  # requests still scoring on it keep it alive until they finish
        self._settle()

    def _settle(self) -> None:
        """After a model comes in or goes out: the one collection and freeze, if enabled."""
        if self.settings.gc_freeze:
            _settle_garbage_collector()

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
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="model-refresh", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
