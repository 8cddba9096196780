"""Service settings: the only reader of the environment, once at start-up, checked there."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.contract.input_bounds import DEFAULT_MARGIN
from app.model_contract import (
    CHALLENGER,
    CHAMPION,
    LOCAL_SIGNING_PUBLIC_KEY_FILE,
    embedded_tracking_uri,
)


class ApiSettings(BaseSettings):
    """Every knob of the prediction API; environment variables use the ``MLSYS_API_`` prefix."""

    model_config = SettingsConfigDict(
        env_prefix="MLSYS_API_", extra="ignore", frozen=True, validate_by_name=True
    )

    # What to serve.
    model_name: str = "breast-cancer-classifier"
    model_alias: str = CHAMPION
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking/registry URI; defaults to $MLFLOW_TRACKING_URI, then the "
        "embedded store under $MLSYS_HOME.",
    )
    # MLflow's own variables, so one set of credentials serves training and serving.
    mlflow_tracking_uri: str | None = Field(default=None, validation_alias="MLFLOW_TRACKING_URI")
    mlflow_tracking_token: SecretStr | None = Field(
        default=None, validation_alias="MLFLOW_TRACKING_TOKEN"
    )
    mlflow_tracking_username: str | None = Field(
        default=None, validation_alias="MLFLOW_TRACKING_USERNAME"
    )
    mlflow_tracking_password: SecretStr | None = Field(
        default=None, validation_alias="MLFLOW_TRACKING_PASSWORD"
    )
    home: Path = Field(default=Path(".mlsys"), validation_alias="MLSYS_HOME")
    model_cache_dir: Path | None = Field(
        default=None,
        description="Scratch folder for model downloads, emptied after each load; the system "
        "temp dir when unset.",
    )

    # Which models to trust.
    model_signing_public_key_file: Path | None = Field(
        default=None,
        description="PEM public key that model manifests must be signed with (Ed25519, or "
        "ECDSA P-256 from the KMS key); defaults to the local pair's under $MLSYS_HOME.",
    )
    model_probe_timeout_seconds: float = Field(
        default=120.0, gt=0, description="Time a new version's trial load may take."
    )

    # Where to listen.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    metrics_port: int | None = Field(
        default=9090, ge=1, le=65535, description="Prometheus port, never exposed by the gateway."
    )
    shutdown_drain_seconds: float = Field(
        default=5.0,
        ge=0,
        description="After SIGTERM, how long readiness fails while requests are still served, "
        "so the load balancer stops routing before the listener closes.",
    )
    shutdown_grace_seconds: float = Field(
        default=20.0, ge=0, description="How long in-flight requests may finish after SIGTERM."
    )
    request_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A request still running after this gets a 504."
    )

    # What one connection may cost before it is refused (see app/wiring/connection_limits.py).
    max_header_bytes: int = Field(
        default=16_384,
        ge=1024,
        le=1_048_576,
        description="Request line plus headers; a longer head is answered 431 and closed.",
    )
    header_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Time from a head's first byte until it must be complete, however slowly "
        "bytes keep arriving; then 408 and close.",
    )
    keep_alive_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="An idle connection (new, or between requests) is closed after this; a proxy "
        "in front must drop idle upstream connections sooner.",
    )
    max_connections: int = Field(
        default=100,
        ge=1,
        description="Open connections, or requests in flight, beyond which a request is "
        "answered 503 (the liveness probe excepted).",
    )

    # Scoring (app/lifecycle/batching.py).
    batch_max_rows: int = Field(
        default=1000,
        ge=1,
        description="Rows per model call at most: concurrent requests' rows are scored in one "
        "call up to this.",
    )
    batch_max_wait_ms: float = Field(
        default=2.0,
        ge=0,
        le=50,
        description="How long a forming batch may wait for a request still being validated; a "
        "request that arrives alone is scored at once.",
    )
    scoring_queue_limit: int = Field(
        default=256,
        ge=1,
        description="Requests waiting for the scoring thread beyond which a request is "
        "answered 503.",
    )
    scoring_threads: int | None = Field(
        default=None,
        ge=1,
        description="BLAS and OpenMP threads for model calls; default: the pod's CPU limit "
        "(cgroup cpu.max), else the cores this process may use.",
    )
    gc_freeze: bool = Field(
        default=True,
        description="After each model swap, collect garbage once and freeze what is left out "
        "of the cycle collector's sight, so full collections under load do not stall requests.",
    )
    score_linear_inline: bool = Field(
        default=True,
        description="Score the compiled linear model on the event loop: its matrix product "
        "costs less than handing it to the scoring thread.",
    )

    # The input contract.
    max_rows: int = Field(default=1000, ge=1, description="Rows per request before 413.")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Body size before 413.")
    extra_columns: Literal["reject", "ignore"] = Field(
        default="reject", description="What to do with columns the model signature lacks."
    )
    input_bounds_margin: Annotated[float, Field(ge=0, allow_inf_nan=False)] | Literal["off"] = (
        Field(
            default=DEFAULT_MARGIN,
            description="How far past its training range a feature may go, in multiples of "
            "the larger of that range and its largest training value, before 422; 'off' "
            "accepts any float32-finite value.",
        )
    )

    # Who may call.
    auth_enabled: bool = Field(default=True, description="Require an API key on model routes.")
    api_keys_file: Path | None = Field(
        default=None,
        description="Lines of '<key-id> <sha256-hex> <scope,scope>'; re-read on change.",
    )
    rate_limit_per_second: float = Field(default=50.0, gt=0, description="Sustained rate per key.")
    rate_limit_burst: int = Field(default=100, ge=1, description="Requests a key may burst.")
    rate_limit_rows_per_second: float = Field(
        default=5000.0, gt=0, description="Sustained rows per second per key (the cost limit)."
    )
    rate_limit_rows_burst: int = Field(
        default=20_000, ge=1, description="Rows a key may burst; at least MAX_ROWS."
    )

    # Keeping the model current.
    poll_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often the registry alias is checked for a new version."
    )
    load_retry_seconds: float = Field(
        default=5.0, gt=0, description="Wait between attempts while no model is loaded yet."
    )
    shadow_enabled: bool = Field(default=False, description="Score a sample with @challenger.")
    shadow_alias: str = CHALLENGER
    shadow_sample_rate: float = Field(default=0.1, ge=0, le=1)

    # Drift.
    drift_window_rows: int = Field(
        default=2000, ge=50, description="Recent rows compared with the training distribution."
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    docs_enabled: bool = Field(
        default=False,
        description="Serve /docs and /redoc, which load Swagger UI and ReDoc from a public CDN: "
        "for local development only. /openapi.json is always served.",
    )

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> ApiSettings:
        for name in ("model_alias", "shadow_alias"):
            if not getattr(self, name).replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"MLSYS_API_{name.upper()} must be an alias name like 'champion'")
        if self.auth_enabled and self.api_keys_file is None:
            raise ValueError(
                "MLSYS_API_API_KEYS_FILE is required while authentication is on "
                "(create one with `python -m app.keys create`); set MLSYS_API_AUTH_ENABLED=false "
                "only for local experiments"
            )
        if self.rate_limit_rows_burst < self.max_rows:
            raise ValueError("MLSYS_API_RATE_LIMIT_ROWS_BURST must be at least MLSYS_API_MAX_ROWS")
        if self.metrics_port is not None and self.metrics_port == self.port:
            raise ValueError("MLSYS_API_METRICS_PORT must differ from MLSYS_API_PORT")
        return self

    @property
    def signing_public_key_path(self) -> Path:
        """The explicit key file, else the public half of the local pair training creates."""
        return self.model_signing_public_key_file or self.home / LOCAL_SIGNING_PUBLIC_KEY_FILE

    @property
    def registry_uri(self) -> str:
        """Explicit setting first, then MLflow's own variable, then the local embedded store."""
        return self.tracking_uri or self.mlflow_tracking_uri or embedded_tracking_uri(self.home)
