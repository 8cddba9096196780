"""Turns a registry version into a served snapshot: download, verify, read the contract files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from app.lifecycle.registry_client import Registry, ResolvedVersion
from app.lifecycle.served_model import ServedModel
from app.model_contract import (
    ARTIFACT_SHA_TAG,
    EXTRA_FILES_DIR,
    INPUT_EXAMPLE_FILE,
    MLMODEL_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    ArtifactError,
    InputColumn,
    load_model,
    parse_reference,
    signature_columns,
)


def read_signature(model_dir: Path) -> list[InputColumn]:
    """Input columns from the MLmodel file; only numeric column signatures are servable."""
    try:
        mlmodel = yaml.safe_load((model_dir / MLMODEL_FILE).read_text()) or {}
        inputs = json.loads((mlmodel.get("signature") or {}).get("inputs") or "null")
    except (OSError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"unreadable {MLMODEL_FILE} file: {exc}") from exc
    return signature_columns(inputs)


def read_input_example(model_dir: Path, columns: list[InputColumn]) -> np.ndarray:
    """The stored input example as a matrix in signature order (used as a smoke test)."""
    path = model_dir / INPUT_EXAMPLE_FILE
    if not path.is_file():
        raise ArtifactError("model has no input example to smoke-test with")
    raw = json.loads(path.read_text())
    index = {name: i for i, name in enumerate(raw["columns"])}
    return np.asarray(
        [[row[index[c.name]] for c in columns] for row in raw["data"]], dtype=np.float64
    )


def read_reference(model_dir: Path, columns: list[InputColumn]) -> dict[str, Any] | None:
    """Training-time feature statistics for drift, when the model carries them."""
    path = model_dir / EXTRA_FILES_DIR / REFERENCE_FILE
    if not path.is_file():
        return None
    return parse_reference(path.read_text(), [c.name for c in columns])


def load_version(registry: Registry, version: ResolvedVersion, workdir: Path) -> ServedModel:
    """Download a version into ``workdir`` and build its snapshot; the hash tag must match."""
    if version.artifact_sha256 is None:
        raise ArtifactError(
            f"{version.name} v{version.version} has no {ARTIFACT_SHA_TAG} tag; refusing to load"
        )
    folder = registry.download(version, workdir)
    estimator = load_model(folder / MODEL_FILE, version.artifact_sha256)
    columns = read_signature(folder)
    return ServedModel.build(
        version,
        estimator,
        columns,
        read_input_example(folder, columns),
        read_reference(folder, columns),
    )
