"""Model information (scope `predict`) and the reload trigger (scope `admin`)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.contract.model_info import ModelInfo, ReloadResult, Signature, SignatureColumn
from app.http.errors import REFUSALS
from app.http.route_dependencies import CurrentModel, State, requires
from app.lifecycle.model_swapper import RefreshOutcome
from app.model_contract import DATASET_SHA_TAG, GIT_COMMIT_TAG, MODEL_CARD_FILE

router = APIRouter(tags=["model"], dependencies=[requires("predict")])
admin_router = APIRouter(tags=["model"], dependencies=[requires("admin")])


@router.get("/v1/model", response_model=ModelInfo, responses=REFUSALS)
async def model_info(model: CurrentModel) -> ModelInfo:
    """What is being served: version, provenance, training metrics and input schema."""
    version = model.version
    return ModelInfo(
        name=version.name,
        version=version.version,
        alias=version.alias,
        run_id=version.run_id,
        metrics=version.metrics,
        dataset_sha256=version.tags.get(DATASET_SHA_TAG),
        artifact_sha256=version.artifact_sha256,
        git_commit=version.tags.get(GIT_COMMIT_TAG),
        model_card_uri=f"runs:/{version.run_id}/{MODEL_CARD_FILE}" if version.run_id else None,
        signature=Signature(
            inputs=[
                SignatureColumn(name=c.name, type=c.mlflow_type, required=c.required)
                for c in model.columns
            ],
            classes=model.class_names,
        ),
        engine=model.compiled.engine,
        drift_reference=model.reference is not None,
        loaded_at=model.loaded_at.isoformat(),
    )


@admin_router.post("/admin/reload", response_model=ReloadResult, responses=REFUSALS)
async def reload(state: State) -> ReloadResult:
    """Check the registry now instead of waiting for the next poll (scope `admin`)."""
    outcome = await run_in_threadpool(state.swapper.refresh)
    current = state.swapper.current
    return ReloadResult(
        outcome=outcome.value,
        model_version=current.version.version if current else None,
        error=state.swapper.last_error if outcome is RefreshOutcome.FAILED else None,
    )
