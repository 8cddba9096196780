"""An in-memory registry: versions are folders written with the real contract files, no MLflow."""

from __future__ import annotations

import base64
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from app.lifecycle.registry_client import ArtifactDownloadError, RegistryError, ResolvedVersion
from app.model_contract import (
    ARTIFACT_SHA_TAG,
    DATASET_SHA_TAG,
    EXTRA_FILES_DIR,
    GIT_COMMIT_TAG,
    INPUT_EXAMPLE_FILE,
    MANIFEST_SIGNATURE_TAG,
    MANIFEST_TAG,
    METRIC_TAG_PREFIX,
    MLMODEL_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    build_manifest,
    build_reference,
    sha256_file,
)

NAME = "breast-cancer-classifier"
# The tests' stand-in for the training side's signing key: one per session.
SIGNING_KEY = ed25519.Ed25519PrivateKey.generate()


def public_key_pem(key: ed25519.Ed25519PrivateKey = SIGNING_KEY) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def signed_tags(
    folder: Path,
    version: str,
    run_id: str | None,
    key: ed25519.Ed25519PrivateKey = SIGNING_KEY,
    name: str = NAME,
) -> dict[str, str]:
    """The manifest and signature tags training would write for ``folder``."""
    manifest = build_manifest(folder, name, version, run_id)
    signature = base64.b64encode(key.sign(manifest.signed_bytes())).decode()
    return {MANIFEST_TAG: manifest.canonical(), MANIFEST_SIGNATURE_TAG: signature}


def write_model_folder(
    folder: Path, estimator: Any, names: list[str], train: np.ndarray, *, reference: bool = True
) -> Path:
    """The files a registered version holds, as the training side writes them."""
    folder.mkdir(parents=True)
    sio.dump(estimator, folder / MODEL_FILE)
    inputs = [{"type": "double", "name": name, "required": True} for name in names]
    (folder / MLMODEL_FILE).write_text(
        yaml.safe_dump({"signature": {"inputs": json.dumps(inputs)}})
    )
    example = {"columns": names, "data": train[:5].tolist()}
    (folder / INPUT_EXAMPLE_FILE).write_text(json.dumps(example))
    if reference:
        (folder / EXTRA_FILES_DIR).mkdir()
        (folder / EXTRA_FILES_DIR / REFERENCE_FILE).write_text(
            json.dumps(build_reference(train, names))
        )
    return folder


class InMemoryRegistry:
    """Implements the serving side's ``Registry`` protocol over local folders."""

    def __init__(self) -> None:
        self.versions: dict[str, tuple[ResolvedVersion, Path]] = {}
        self.aliases: dict[str, str] = {}
        self.downloads: list[Path] = []
        self.down = False
        self.artifacts_down = False

    def publish(
        self, folder: Path, metrics: dict[str, float] | None = None, *, signed: bool = True
    ) -> str:
        """Add ``folder`` as the next version, signed with the session key unless told not."""
        version = str(len(self.versions) + 1)
        tags = {
            **(signed_tags(folder, version, f"run-{version}") if signed else {}),
            ARTIFACT_SHA_TAG: sha256_file(folder / MODEL_FILE),
            DATASET_SHA_TAG: "d" * 64,
            GIT_COMMIT_TAG: "0123abc",
            **{METRIC_TAG_PREFIX + k: str(v) for k, v in (metrics or {}).items()},
        }
        resolved = ResolvedVersion(NAME, version, "", f"run-{version}", str(folder), tags)
        self.versions[version] = (resolved, folder)
        return version

    def set_tag(self, version: str, key: str, value: str) -> None:
        resolved, folder = self.versions[version]
        self.versions[version] = (replace(resolved, tags={**resolved.tags, key: value}), folder)

    def set_alias(self, alias: str, version: str) -> None:
        self.aliases[alias] = version

    def resolve_alias(self, name: str, alias: str) -> ResolvedVersion | None:
        if self.down:
            raise RegistryError("cannot reach the registry: it is down")
        version = self.aliases.get(alias)
        if name != NAME or version is None:
            return None
        return replace(self.versions[version][0], alias=alias)

    def download(self, version: ResolvedVersion, target: Path) -> Path:
        if self.artifacts_down:
            raise ArtifactDownloadError(f"cannot download {version.name} v{version.version}")
        self.downloads.append(target)
        shutil.copytree(self.versions[version.version][1], target, dirs_exist_ok=True)
        return target
