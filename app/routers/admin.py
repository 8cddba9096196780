"""Model information and the authenticated reload trigger."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from app.errors import REFUSALS
from app.model_manager import RefreshOutcome
from app.service import authorize, current_model, state_of

router = APIRouter(tags=["model"])


@router.get("/v1/model", responses=REFUSALS)
async def model_info(request: Request) -> dict[str, Any]:
    """What is being served: version, provenance, training metrics and input schema."""
    state = state_of(request)
    authorize(request, state, "predict")
    model = current_model(state)
    version = model.version
    return {
        "name": version.name,
        "version": version.version,
        "alias": version.alias,
        "run_id": version.run_id,
        "metrics": version.metrics,
        "dataset_sha256": version.tags.get("dataset_sha256"),
        "artifact_sha256": version.artifact_sha256,
        "git_commit": version.tags.get("git_commit"),
        "signature": {
            "inputs": [
                {"name": c.name, "type": c.mlflow_type, "required": c.required}
                for c in model.columns
            ],
            "classes": model.class_names,
        },
        "engine": model.compiled.engine,
        "drift_reference": model.reference is not None,
        "loaded_at": model.loaded_at.isoformat(),
    }


@router.post("/admin/reload", responses=REFUSALS)
async def reload(request: Request) -> dict[str, Any]:
    """Check the registry now instead of waiting for the next poll (scope `admin`)."""
    state = state_of(request)
    authorize(request, state, "admin")
    outcome = await run_in_threadpool(state.manager.refresh)
    current = state.manager.current
    return {
        "outcome": outcome.value,
        "model_version": current.version.version if current else None,
        "error": state.manager.last_error if outcome is RefreshOutcome.FAILED else None,
    }
