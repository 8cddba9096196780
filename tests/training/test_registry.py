"""Registry reads through MLflow's client: aliases, single files, and hash-checked loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import PERMISSION_DENIED, RESOURCE_DOES_NOT_EXIST

from app.model_contract import (
    ARTIFACT_SHA_TAG,
    CHAMPION,
    INPUT_EXAMPLE_FILE,
    MODEL_FILE,
    ArtifactError,
)
from training.registry import RegistryError, download_file, load_version, resolve_alias


class _Refusing:
    def __init__(self, error_code: int) -> None:
        self.error_code = error_code

    def get_model_version_by_alias(self, name, alias):
        raise MlflowException("no", error_code=self.error_code)

    def get_model_version_download_uri(self, name, version):
        raise MlflowException("no", error_code=self.error_code)


def test_resolve_alias_returns_the_version(fake_registry, small_model):
    version = fake_registry.add_version(small_model)
    fake_registry.aliases[CHAMPION] = version
    found = resolve_alias(fake_registry, "model", CHAMPION)
    assert found is not None and found.version == version
    assert found.tags[ARTIFACT_SHA_TAG]


def test_an_unset_alias_or_unknown_model_is_none(fake_registry):
    assert resolve_alias(fake_registry, "model", CHAMPION) is None
    assert resolve_alias(_Refusing(RESOURCE_DOES_NOT_EXIST), "missing", CHAMPION) is None


def test_other_registry_failures_are_a_registry_error():
    with pytest.raises(RegistryError, match="cannot resolve model@champion"):
        resolve_alias(_Refusing(PERMISSION_DENIED), "model", CHAMPION)


def test_download_file_fetches_one_file_of_the_version(fake_registry, small_model, tmp_path):
    version = fake_registry.add_version(small_model)
    example = {"columns": ["f0"], "data": [[1.0]]}
    (fake_registry.root / version / INPUT_EXAMPLE_FILE).write_text(json.dumps(example))
    fake_registry.aliases[CHAMPION] = version
    found = resolve_alias(fake_registry, "model", CHAMPION)
    path = download_file(fake_registry, found, INPUT_EXAMPLE_FILE, tmp_path / "dst")
    assert path.parent == tmp_path / "dst"
    assert json.loads(path.read_text()) == example
    assert not (tmp_path / "dst" / MODEL_FILE).exists()
    with pytest.raises(RegistryError, match=r"cannot download nope\.json of model v1"):
        download_file(fake_registry, found, "nope.json", tmp_path / "dst")


def test_load_version_checks_the_registered_hash(
    fake_registry, small_model, small_frame, small_dataset, tmp_path
):
    version = fake_registry.add_version(small_model)
    fake_registry.aliases[CHAMPION] = version
    loaded = load_version(fake_registry, resolve_alias(fake_registry, "model", CHAMPION), tmp_path)
    x = small_frame[small_dataset.feature_names].to_numpy()
    np.testing.assert_array_equal(loaded.predict_proba(x), small_model.predict_proba(x))

    fake_registry.tags[version][ARTIFACT_SHA_TAG] = "0" * 64
    tampered = resolve_alias(fake_registry, "model", CHAMPION)
    with pytest.raises(ArtifactError, match="hash mismatch"):
        load_version(fake_registry, tampered, tmp_path / "again")


def test_a_version_without_its_hash_tag_is_refused(fake_registry, small_model, tmp_path):
    fake_registry.aliases[CHAMPION] = fake_registry.add_version(small_model, tagged=False)
    untagged = resolve_alias(fake_registry, "model", CHAMPION)
    with pytest.raises(ArtifactError, match=f"no {ARTIFACT_SHA_TAG} tag; refusing to load"):
        load_version(fake_registry, untagged, tmp_path / "dst")
    assert not (tmp_path / "dst").exists()
