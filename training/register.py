"""Register: log the model pickle-free (skops) with signature, example, provenance, and sign it."""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import ModelSignature, infer_signature

from app.model_contract import (
    ARTIFACT_SHA_TAG,
    DATASET_SHA_TAG,
    FEATURES_TAG,
    GIT_COMMIT_TAG,
    MANIFEST_SIGNATURE_TAG,
    METRIC_TAG_PREFIX,
    MODEL_FILE,
    REFERENCE_FILE,
    UNTRUSTED_TYPES_TAG,
    ArtifactError,
    InputColumn,
    build_manifest,
    parse_reference,
    sha256_file,
    signature_columns,
    types_to_trust,
    untrusted_types,
)
from training.config import DatasetSpec
from training.provenance import discard_half_registered
from training.signing import Signer, signature_tags, signer_from_settings

INPUT_EXAMPLE_ROWS = 5


class RegistrationError(RuntimeError):
    """Logging, tagging or signing a new version failed; what it left was removed if possible."""


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    artifact_sha256: str
    model_uri: str
    # True when an identical earlier version was found and nothing new was registered.
    unchanged: bool = False


def _requirements() -> list[str]:
    # Pinned explicitly so MLflow does not spawn a process to guess them.
    return [f"{name}=={package_version(name)}" for name in ("scikit-learn", "skops", "numpy")]


def servable_columns(
    signature: ModelSignature, feature_names: list[str], extra_files: list[Path] | None = None
) -> list[InputColumn]:
    """Check a signature (and any reference statistics) against what the API can serve."""
    columns = signature_columns(signature.inputs.to_dict() if signature.inputs else None)
    names = [column.name for column in columns]
    if names != feature_names:
        raise ArtifactError(
            f"model signature columns {names} are not the dataset's features {feature_names}"
        )
    for path in extra_files or []:
        if path.name == REFERENCE_FILE:
            parse_reference(path.read_text(), names)
    return columns


def register(
    model: Any,
    *,
    model_name: str,
    run_id: str,
    dataset: DatasetSpec,
    holdout: pd.DataFrame,
    dataset_sha256: str,
    metrics: dict[str, float],
    commit: str,
    staging_dir: Path,
    extra_files: list[Path] | None = None,
    extra_tags: dict[str, str] | None = None,
    signer: Signer | None = None,
) -> Registered:
    """Log ``model`` into ``run_id``, register a new version, tag it and sign its manifest.

    Raises :class:`ArtifactError` before logging anything if the API could not serve it.
    ``signer`` defaults to the one ``MLSYS_SIGNING_KEY`` selects (training/signing.py).
    """
    example = holdout[dataset.feature_names].head(INPUT_EXAMPLE_ROWS).astype("float64")
    signature = infer_signature(example, model.predict(example.to_numpy()))
    try:
        servable_columns(signature, dataset.feature_names, extra_files)
    except ArtifactError as exc:
        # Refused before anything is logged, rather than by the API when it loads the version.
        raise ArtifactError(f"refusing to register {model_name}: {exc}") from exc
    signer = signer or signer_from_settings()  # an unusable key fails before anything is logged
    local_dir = staging_dir / "registered-model"
    shutil.rmtree(local_dir, ignore_errors=True)
    try:
        return _log_tag_and_sign(
            model,
            model_name=model_name,
            run_id=run_id,
            signature=signature,
            example=example,
            tags={
                DATASET_SHA_TAG: dataset_sha256,
                FEATURES_TAG: ",".join(dataset.feature_names),
                GIT_COMMIT_TAG: commit,
                **{f"{METRIC_TAG_PREFIX}{name}": f"{value:.6f}" for name, value in metrics.items()},
                **(extra_tags or {}),
            },
            local_dir=local_dir,
            extra_files=extra_files,
            signer=signer,
        )
    except Exception as exc:
        raise RegistrationError(
            f"registering {model_name} from run {run_id} failed: {exc}; "
            + _discard_partial(model_name, run_id)
        ) from exc


def _discard_partial(model_name: str, run_id: str) -> str:
    """Remove what a failed registration left; say what was done, or what a person must do."""
    try:
        gone = discard_half_registered(
            MlflowClient(), model_name, run_id, (ARTIFACT_SHA_TAG, MANIFEST_SIGNATURE_TAG)
        )
    except Exception as exc:  # the registry is usually what failed in the first place
        return (
            f"the unsigned version it may have created could not be removed ({exc}); the API "
            f"refuses it, and the next register of run {run_id} deletes it"
        )
    if not gone:
        return "no version was created"
    return "deleted the half-registered version " + ", ".join(f"v{v}" for v in gone)


def _log_tag_and_sign(
    model: Any,
    *,
    model_name: str,
    run_id: str,
    signature: ModelSignature,
    example: pd.DataFrame,
    tags: dict[str, str],
    local_dir: Path,
    extra_files: list[Path] | None,
    signer: Signer,
) -> Registered:
    # MLflow checks the input example through its pyfunc wrapper, which passes a DataFrame to a
    # model fitted on arrays; scikit-learn's feature-name warning there is expected noise.
    with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X has feature names", category=UserWarning)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            skops_trusted_types=types_to_trust(model),
            signature=signature,
            input_example=example,
            pip_requirements=_requirements(),
            registered_model_name=model_name,
            extra_files=[str(path) for path in extra_files or []],
        )
    client = MlflowClient()
    version = str(info.registered_model_version)
    # Hashed from a fresh download, so the tag describes the bytes the registry serves.
    download_uri = client.get_model_version_download_uri(model_name, version)
    downloaded = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"{download_uri}/{MODEL_FILE}",
            dst_path=str(local_dir),
        )
    )
    artifact_sha = sha256_file(downloaded)
    tags = {
        **tags,
        ARTIFACT_SHA_TAG: artifact_sha,
        UNTRUSTED_TYPES_TAG: ",".join(untrusted_types(downloaded)),
    }
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, value)
    client.set_tag(run_id, ARTIFACT_SHA_TAG, artifact_sha)
    sign_version(client, model_name, version, local_dir / "signed", signer)
    return Registered(
        name=model_name, version=version, artifact_sha256=artifact_sha, model_uri=info.model_uri
    )


def sign_version(
    client: MlflowClient, model_name: str, version: str, scratch: Path, signer: Signer
) -> None:
    """Hash every file of a fresh download of the version, sign the manifest, store both."""
    shutil.rmtree(scratch, ignore_errors=True)
    registered = client.get_model_version(model_name, version)
    folder = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=client.get_model_version_download_uri(model_name, version),
            dst_path=str(scratch),
        )
    )
    manifest = build_manifest(folder, model_name, version, registered.run_id)
    for key, value in signature_tags(manifest, signer).items():
        client.set_model_version_tag(model_name, version, key, value)
