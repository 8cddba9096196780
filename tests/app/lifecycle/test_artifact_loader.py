"""Artifact loading: a version's folder becomes a snapshot only if every contract file holds up."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.lifecycle.artifact_loader import load_version, read_reference, read_signature
from app.model_contract import (
    EXTRA_FILES_DIR,
    INPUT_EXAMPLE_FILE,
    MLMODEL_FILE,
    REFERENCE_FILE,
    ArtifactError,
    ManifestError,
    SignatureError,
)
from tests.app.registry_double import InMemoryRegistry, public_key_pem


@pytest.fixture
def folder(champion_folder: Path, tmp_path: Path) -> Path:
    return shutil.copytree(champion_folder, tmp_path / "v1")


def _load(folder: Path, tmp_path: Path, *, signed: bool = True, after_signing=None):
    registry = InMemoryRegistry()
    registry.set_alias("champion", registry.publish(folder, signed=signed))
    if after_signing is not None:
        after_signing(folder)  # a write to the artifact store after registration
    resolved = registry.resolve_alias("breast-cancer-classifier", "champion")
    assert resolved is not None
    return load_version(registry, resolved, tmp_path / "download", public_key_pem(), 60.0)


def test_a_good_folder_becomes_a_smoke_tested_snapshot(folder, tmp_path, dataset):
    model = _load(folder, tmp_path)
    assert model.feature_names == dataset.names
    assert model.compiled.engine == "numpy-linear" and model.reference is not None
    assert model.predict(dataset.holdout[:3]).labels.shape == (3,)


def test_the_signature_must_be_numeric_and_named(folder):
    (folder / MLMODEL_FILE).write_text(
        'signature:\n  inputs: \'[{"type": "string", "name": "a"}]\'\n'
    )
    with pytest.raises(ArtifactError, match="numeric named columns only"):
        read_signature(folder)
    (folder / MLMODEL_FILE).write_text("flavors: {}\n")
    with pytest.raises(ArtifactError, match="no input signature"):
        read_signature(folder)


def test_a_reference_for_other_columns_is_refused(folder):
    path = folder / EXTRA_FILES_DIR / REFERENCE_FILE
    reference = json.loads(path.read_text())
    reference["features"][0]["name"] = "other"
    path.write_text(json.dumps(reference))
    with pytest.raises(ArtifactError, match="signature's columns"):
        read_reference(folder, read_signature(folder))


def test_an_unsigned_version_is_refused(folder, tmp_path):
    with pytest.raises(SignatureError, match="no signed manifest"):
        _load(folder, tmp_path, signed=False)


def _swap_columns_and_drop_reference(folder: Path) -> None:
    """The issue's attack: every prediction changed, nothing was refused."""
    mlmodel = folder / MLMODEL_FILE
    text = mlmodel.read_text().replace("mean_radius", "@").replace("mean_texture", "mean_radius")
    mlmodel.write_text(text.replace("@", "mean_texture"))
    (folder / EXTRA_FILES_DIR / REFERENCE_FILE).unlink()


def test_files_changed_after_signing_are_refused_before_loading(folder, tmp_path):
    with pytest.raises(ManifestError, match=r"missing \['extra_files/reference_stats.json'\]"):
        _load(folder, tmp_path, after_signing=_swap_columns_and_drop_reference)


def test_the_reported_hash_is_the_signed_one(folder, tmp_path):
    registry = InMemoryRegistry()
    version = registry.publish(folder)
    registry.set_tag(version, "artifact_sha256", "0" * 64)  # a registry write
    registry.set_alias("champion", version)
    resolved = registry.resolve_alias("breast-cancer-classifier", "champion")
    assert resolved is not None
    model = load_version(registry, resolved, tmp_path / "dl", public_key_pem(), 60.0)
    assert model.version.artifact_sha256 != "0" * 64


def test_no_input_example_means_no_load(folder, tmp_path):
    (folder / INPUT_EXAMPLE_FILE).unlink()
    with pytest.raises(ArtifactError, match="no input example"):
        _load(folder, tmp_path)


def test_a_model_without_a_reference_loads_without_drift(folder, tmp_path):
    shutil.rmtree(folder / EXTRA_FILES_DIR)
    assert _load(folder, tmp_path).reference is None
