"""Service settings, read from the environment once at start-up and checked there."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Every knob of the prediction API; environment variables use the ``MLSYS_API_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="MLSYS_API_", extra="ignore", frozen=True)

    model_name: str = "breast-cancer-classifier"
    model_alias: str = "champion"
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking/registry URI; defaults to $MLFLOW_TRACKING_URI, then the "
        "embedded store under $MLSYS_HOME.",
    )
    home: Path = Field(default=Path(".mlsys"), validation_alias="MLSYS_HOME")
    model_cache_dir: Path | None = Field(
        default=None, description="Where downloaded artifacts go; a temp dir when unset."
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    max_rows: int = Field(default=1000, ge=1, description="Rows per request before 413.")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Body size before 413.")
    extra_columns: Literal["reject", "ignore"] = Field(
        default="reject", description="What to do with columns the model signature lacks."
    )

    poll_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often the registry alias is checked for a new version."
    )
    load_retry_seconds: float = Field(
        default=5.0, gt=0, description="Wait between attempts while no model is loaded yet."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _alias_is_a_name(self) -> ApiSettings:
        if not self.model_alias.replace("_", "").replace("-", "").isalnum():
            raise ValueError("MLSYS_API_MODEL_ALIAS must be an alias name such as 'champion'")
        return self

    def registry_uri(self, environ_uri: str | None) -> str:
        """Explicit setting first, then MLflow's own variable, then the local embedded store."""
        return self.tracking_uri or environ_uri or f"sqlite:///{self.home.resolve() / 'mlflow.db'}"
