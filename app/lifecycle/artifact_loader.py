"""Turns a registry version into a served snapshot: verify, download, check, probe, build.

Order matters: the signature and every file hash are checked before any file is parsed, and
the first load and smoke prediction run in a child process before the server loads it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from app.contract.input_bounds import DEFAULT_MARGIN
from app.lifecycle.model_probe import run_in_child
from app.lifecycle.registry_client import Registry, ResolvedVersion
from app.lifecycle.served_model import ServedModel
from app.lifecycle.tree_checks import check_tree_structures
from app.model_contract import (
    ARTIFACT_SHA_TAG,
    EXTRA_FILES_DIR,
    INPUT_EXAMPLE_FILE,
    MANIFEST_SIGNATURE_TAG,
    MANIFEST_TAG,
    MLMODEL_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    ArtifactError,
    InputColumn,
    check_folder,
    load_model,
    parse_reference,
    signature_columns,
    verify_manifest,
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


def build_snapshot(
    folder: Path, version: ResolvedVersion, input_margin: float | Literal["off"] = DEFAULT_MARGIN
) -> ServedModel:
    """Read the contract files, load the model, check its trees and smoke-test it."""
    columns = read_signature(folder)
    estimator = load_model(folder / MODEL_FILE, expected_sha256=None)  # the manifest checked it
    check_tree_structures(estimator)
    return ServedModel.build(
        version,
        estimator,
        columns,
        read_input_example(folder, columns),
        read_reference(folder, columns),
        input_margin=input_margin,
    )


def probe_snapshot(
    folder: str, version: ResolvedVersion, input_margin: float | Literal["off"]
) -> None:
    """What the probe process runs: the whole build, thrown away if it succeeds."""
    build_snapshot(Path(folder), version, input_margin)


def load_version(
    registry: Registry,
    version: ResolvedVersion,
    workdir: Path,
    public_key_pem: bytes,
    probe_timeout: float,
    input_margin: float | Literal["off"] = DEFAULT_MARGIN,
) -> ServedModel:
    """Download a version into ``workdir`` and build its snapshot, trusting only signed files."""
    manifest = verify_manifest(
        version.tags.get(MANIFEST_TAG),
        version.tags.get(MANIFEST_SIGNATURE_TAG),
        public_key_pem,
        name=version.name,
        version=version.version,
        run_id=version.run_id,
    )
    # What the API reports as the artifact hash is the signed one, not the bare tag.
    version = replace(version, tags={**version.tags, ARTIFACT_SHA_TAG: manifest.files[MODEL_FILE]})
    folder = registry.download(version, workdir)
    check_folder(folder, manifest)
    run_in_child(probe_snapshot, (str(folder), version, input_margin), probe_timeout)
    return build_snapshot(folder, version, input_margin)
