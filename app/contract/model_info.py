"""What /v1/model says about the served version, and what /admin/reload answers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SignatureColumn(BaseModel):
    name: str
    type: str = Field(description="The MLflow column type.")
    required: bool


class Signature(BaseModel):
    inputs: list[SignatureColumn]
    classes: list[str]


class ModelInfo(BaseModel):
    name: str
    version: str
    alias: str
    run_id: str | None
    metrics: dict[str, float] = Field(description="Training metrics recorded on the version.")
    dataset_sha256: str | None
    artifact_sha256: str | None
    git_commit: str | None
    model_card_uri: str | None = Field(
        description="MLflow artifact URI of the version's model card (runs:/<run_id>/...)."
    )
    signature: Signature
    engine: str = Field(description="'numpy-linear' when compiled, else 'sklearn'.")
    drift_reference: bool = Field(description="Whether drift is measured for this version.")
    loaded_at: str = Field(description="When this version was swapped in (ISO 8601).")


class ReloadResult(BaseModel):
    outcome: str = Field(description="loaded, unchanged, no_version or failed.")
    model_version: str | None
    error: str | None
