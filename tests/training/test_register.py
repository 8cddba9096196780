"""Register: a model the API could not serve is refused before anything is logged."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from app.model_contract import (
    ARTIFACT_SHA_TAG,
    DATASET_SHA_TAG,
    EXTRA_FILES_DIR,
    FEATURES_TAG,
    GIT_COMMIT_TAG,
    INPUT_EXAMPLE_FILE,
    LOCAL_SIGNING_PUBLIC_KEY_FILE,
    MANIFEST_SIGNATURE_TAG,
    MANIFEST_TAG,
    METRIC_TAG_PREFIX,
    MODEL_FILE,
    REFERENCE_FILE,
    UNTRUSTED_TYPES_TAG,
    ArtifactError,
    InputColumn,
    build_reference,
    check_folder,
    sha256_file,
    verify_manifest,
)
from training import register as registration
from training.provenance import discard_half_registered
from training.register import RegistrationError, register, servable_columns
from training.tracking import configure


def _signature(frame: pd.DataFrame):
    return infer_signature(frame, [0] * len(frame))


def test_numeric_named_columns_in_feature_order_are_servable(small_frame, small_dataset):
    names = small_dataset.feature_names
    columns = servable_columns(_signature(small_frame[names]), names)
    assert columns == [InputColumn(name, "number", True, "double") for name in names]


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (infer_signature(pd.DataFrame({"a": [1.0]}).to_numpy()), "unsupported signature column"),
        (_signature(pd.DataFrame({"a": [1.0], "b": ["x"]})), "numeric named columns only"),
        (_signature(pd.DataFrame({"b": [1.0], "a": [2.0]})), r"not the dataset's features"),
    ],
    ids=["tensor", "string-column", "wrong-order"],
)
def test_signatures_the_api_cannot_serve_are_refused(signature, message):
    with pytest.raises(ArtifactError, match=message):
        servable_columns(signature, ["a", "b"])


def test_reference_statistics_must_describe_the_signature(small_frame, small_dataset, tmp_path):
    names = small_dataset.feature_names
    signature = _signature(small_frame[names])
    reference = tmp_path / REFERENCE_FILE
    reference.write_text(json.dumps(build_reference(small_frame[names].to_numpy(), names)))
    assert len(servable_columns(signature, names, [reference])) == len(names)
    reference.write_text(json.dumps(build_reference(small_frame[names[:2]].to_numpy(), names[:2])))
    with pytest.raises(ArtifactError, match="does not describe the signature's columns"):
        servable_columns(signature, names, [reference])


def test_register_refuses_before_logging_anything(
    small_model, small_frame, small_dataset, tmp_path, monkeypatch
):
    tensor = infer_signature(small_frame[small_dataset.feature_names].to_numpy())
    monkeypatch.setattr(registration, "infer_signature", lambda *_: tensor)

    def must_not_log(*args, **kwargs):
        raise AssertionError("an unservable model reached the registry")

    monkeypatch.setattr(mlflow, "start_run", must_not_log)
    monkeypatch.setattr(mlflow.sklearn, "log_model", must_not_log)
    with pytest.raises(ArtifactError, match=r"refusing to register small: .*signature column"):
        register(
            small_model,
            model_name="small",
            run_id="unused",
            dataset=small_dataset,
            holdout=small_frame,
            dataset_sha256="0" * 64,
            metrics={},
            commit="abc",
            staging_dir=tmp_path,
        )


@pytest.mark.slow
def test_register_logs_a_skops_model_with_its_provenance(
    mlsys_home: Path, small_model, small_frame, small_dataset, tmp_path
):
    names = small_dataset.feature_names
    reference = tmp_path / REFERENCE_FILE
    reference.write_text(json.dumps(build_reference(small_frame[names].to_numpy(), names)))
    with mlflow.start_run(experiment_id=configure("small")) as run:
        pass
    registered = register(
        small_model,
        model_name="small",
        run_id=run.info.run_id,
        dataset=small_dataset,
        holdout=small_frame,
        dataset_sha256="d" * 64,
        metrics={"roc_auc": 0.9},
        commit="abc123",
        staging_dir=tmp_path / "staging",
        extra_files=[reference],
    )
    assert (registered.name, registered.version) == ("small", "1")
    client = MlflowClient()
    tags = client.get_model_version("small", "1").tags
    assert tags[ARTIFACT_SHA_TAG] == registered.artifact_sha256
    assert tags[DATASET_SHA_TAG] == "d" * 64
    assert tags[FEATURES_TAG] == ",".join(names)
    assert tags[GIT_COMMIT_TAG] == "abc123"
    assert tags[UNTRUSTED_TYPES_TAG] == ""  # a linear model needs no allowance
    assert tags[f"{METRIC_TAG_PREFIX}roc_auc"] == "0.900000"
    assert client.get_run(run.info.run_id).data.tags[ARTIFACT_SHA_TAG] == tags[ARTIFACT_SHA_TAG]
    folder = Path(client.get_model_version_download_uri("small", "1").removeprefix("file://"))
    assert sha256_file(folder / MODEL_FILE) == registered.artifact_sha256
    example = json.loads((folder / INPUT_EXAMPLE_FILE).read_text())
    assert example["columns"] == names and len(example["data"]) == registration.INPUT_EXAMPLE_ROWS
    assert (folder / EXTRA_FILES_DIR / REFERENCE_FILE).read_text() == reference.read_text()
    # Signed with the local pair created under MLSYS_HOME; serving's verifier accepts it.
    version = client.get_model_version("small", "1")
    manifest = verify_manifest(
        tags[MANIFEST_TAG],
        tags[MANIFEST_SIGNATURE_TAG],
        (mlsys_home / LOCAL_SIGNING_PUBLIC_KEY_FILE).read_bytes(),
        name="small",
        version="1",
        run_id=version.run_id,
    )
    assert manifest.files[MODEL_FILE] == registered.artifact_sha256
    assert set(manifest.files) >= {
        "MLmodel",
        INPUT_EXAMPLE_FILE,
        "extra_files/reference_stats.json",
    }
    check_folder(folder, manifest)


class _FailingSigner:
    """A signing key that cannot be reached once the model is logged (KMS down, say)."""

    def sign(self, message: bytes) -> bytes:
        raise RuntimeError("KMS is unreachable")

    def public_key_pem(self) -> bytes:
        raise RuntimeError("KMS is unreachable")


def _registry_gone(*args, **kwargs):
    raise MlflowException("the registry went away")


def _register_small(model, frame, dataset, tmp_path: Path, run_id: str, signer=None):
    return register(
        model,
        model_name="small",
        run_id=run_id,
        dataset=dataset,
        holdout=frame,
        dataset_sha256="d" * 64,
        metrics={"roc_auc": 0.9},
        commit="abc123",
        staging_dir=tmp_path,
        signer=signer,
    )


@pytest.mark.slow
def test_a_registration_failing_after_logging_leaves_no_version(
    mlsys_home: Path, small_model, small_frame, small_dataset, tmp_path
):
    with mlflow.start_run(experiment_id=configure("small")) as run:
        pass
    with pytest.raises(RegistrationError) as refused:
        _register_small(
            small_model, small_frame, small_dataset, tmp_path, run.info.run_id, _FailingSigner()
        )
    message = str(refused.value)
    assert "KMS is unreachable" in message
    assert "deleted the half-registered version v1" in message
    assert MlflowClient().search_model_versions("name='small'") == []


@pytest.mark.slow
def test_a_version_left_unsigned_is_discarded_before_the_next_registration(
    mlsys_home: Path, small_model, small_frame, small_dataset, tmp_path, monkeypatch
):
    with mlflow.start_run(experiment_id=configure("small")) as run:
        pass
    run_id = run.info.run_id

    with monkeypatch.context() as patched:
        patched.setattr(MlflowClient, "delete_model_version", _registry_gone)
        with pytest.raises(RegistrationError, match=r"could not be removed .*registry went away"):
            _register_small(
                small_model, small_frame, small_dataset, tmp_path, run_id, _FailingSigner()
            )
    client = MlflowClient()
    (left,) = client.search_model_versions("name='small'")
    assert MANIFEST_SIGNATURE_TAG not in left.tags
    complete = (ARTIFACT_SHA_TAG, MANIFEST_SIGNATURE_TAG)
    assert discard_half_registered(client, "small", run_id, complete) == ["1"]
    registered = _register_small(small_model, small_frame, small_dataset, tmp_path, run_id)
    assert registered.version == "2"
    (kept,) = client.search_model_versions("name='small'")
    assert str(kept.version) == "2" and MANIFEST_SIGNATURE_TAG in kept.tags
    assert discard_half_registered(client, "small", run_id, complete) == []


@pytest.mark.slow
def test_an_unsigned_version_holding_an_alias_is_kept_with_its_alias(
    mlsys_home: Path, small_model, small_frame, small_dataset, tmp_path, monkeypatch
):
    """Registered by an older release before manifests were signed, then promoted: not a
    crash's leftover, so the next register of its run must not delete it."""
    with mlflow.start_run(experiment_id=configure("small")) as run:
        pass
    run_id = run.info.run_id
    with monkeypatch.context() as patched:
        patched.setattr(MlflowClient, "delete_model_version", _registry_gone)
        with pytest.raises(RegistrationError):
            _register_small(
                small_model, small_frame, small_dataset, tmp_path, run_id, _FailingSigner()
            )
    client = MlflowClient()
    client.set_registered_model_alias("small", "champion", "1")
    complete = (ARTIFACT_SHA_TAG, MANIFEST_SIGNATURE_TAG)
    assert discard_half_registered(client, "small", run_id, complete) == []
    assert str(client.get_model_version_by_alias("small", "champion").version) == "1"
