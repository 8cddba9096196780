"""The manifest and its signature (every file hashed, bound to one version, signed), and the
reference statistics both sides read."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from app.model_contract import (
    MANIFEST_SIGNATURE_TAG,
    MANIFEST_TAG,
    MODEL_FILE,
    ArtifactError,
    ManifestError,
    SignatureError,
    build_manifest,
    build_reference,
    check_folder,
    parse_manifest,
    parse_reference,
    training_range,
    verify_manifest,
)
from tests.app.registry_double import NAME, public_key_pem, signed_tags


@pytest.fixture
def folder(champion_folder: Path, tmp_path: Path) -> Path:
    return shutil.copytree(champion_folder, tmp_path / "v1")


def _verify(tags: dict[str, str], version: str = "1", run_id: str | None = "run-1", pem=None):
    return verify_manifest(
        tags.get(MANIFEST_TAG),
        tags.get(MANIFEST_SIGNATURE_TAG),
        pem or public_key_pem(),
        name=NAME,
        version=version,
        run_id=run_id,
    )


def test_the_manifest_names_every_file_of_the_folder(folder):
    manifest = build_manifest(folder, NAME, "1", "run-1")
    assert set(manifest.files) == {
        "MLmodel",
        "input_example.json",
        MODEL_FILE,
        "extra_files/reference_stats.json",
    }
    assert parse_manifest(manifest.canonical()) == manifest


def test_a_signed_manifest_verifies_and_matches_its_folder(folder):
    manifest = _verify(signed_tags(folder, "1", "run-1"))
    check_folder(folder, manifest)


@pytest.mark.parametrize("change", ["changed", "missing", "extra"])
def test_any_change_to_the_files_is_refused(folder, change):
    manifest = _verify(signed_tags(folder, "1", "run-1"))
    if change == "changed":  # the issue's attack: two signature columns swapped
        mlmodel = folder / "MLmodel"
        mlmodel.write_text(mlmodel.read_text().replace("mean_radius", "mean_TMP"))
    elif change == "missing":
        (folder / "extra_files" / "reference_stats.json").unlink()
    else:
        (folder / "extra_files" / "sitecustomize.py").write_text("")
    with pytest.raises(ManifestError, match=change.replace("extra", "unexpected")):
        check_folder(folder, manifest)


def test_a_symbolic_link_in_the_folder_is_refused(folder):
    manifest = build_manifest(folder, NAME, "1", "run-1")
    (folder / "link").symlink_to(folder / MODEL_FILE)
    with pytest.raises(ManifestError, match="symbolic link"):
        check_folder(folder, manifest)


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../b", "a//b", "", "a\\..\\b"])
def test_paths_that_leave_the_folder_are_refused(path):
    text = json.dumps(
        {"files": {path: "0" * 64}, "format": 1, "name": NAME, "run_id": None, "version": "1"},
        sort_keys=True,
        separators=(",", ":"),
    )
    with pytest.raises(ManifestError, match="unsafe path"):
        parse_manifest(text)


def test_no_signature_is_refused(folder):
    tags = signed_tags(folder, "1", "run-1")
    del tags[MANIFEST_SIGNATURE_TAG]
    with pytest.raises(SignatureError, match="no signed manifest"):
        _verify(tags)
    with pytest.raises(SignatureError, match="no signed manifest"):
        _verify({})


def test_a_manifest_rewritten_by_a_registry_writer_is_refused(folder):
    """Whoever can write tags can rewrite the manifest, but cannot sign it."""
    tags = signed_tags(folder, "1", "run-1")
    manifest = parse_manifest(tags[MANIFEST_TAG])
    forged = json.loads(tags[MANIFEST_TAG])
    forged["files"][MODEL_FILE] = "f" * 64
    tags[MANIFEST_TAG] = json.dumps(forged, sort_keys=True, separators=(",", ":"))
    assert tags[MANIFEST_TAG] != manifest.canonical()
    with pytest.raises(SignatureError, match="does not verify"):
        _verify(tags)


def test_a_signature_by_another_key_is_refused(folder):
    other = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(SignatureError, match="does not verify"):
        _verify(signed_tags(folder, "1", "run-1", key=other))


def test_a_genuine_manifest_replayed_onto_another_version_is_refused(folder):
    tags = signed_tags(folder, "1", "run-1")
    with pytest.raises(SignatureError, match="not for"):
        _verify(tags, version="2", run_id="run-2")
    with pytest.raises(SignatureError, match="not for"):
        _verify(tags, run_id="run-9")


def test_garbage_signatures_and_manifests_are_refused(folder):
    tags = signed_tags(folder, "1", "run-1")
    with pytest.raises(SignatureError, match="base64"):
        _verify({**tags, MANIFEST_SIGNATURE_TAG: "not base64!"})
    with pytest.raises(ManifestError, match="canonical"):
        _verify({**tags, MANIFEST_TAG: tags[MANIFEST_TAG].replace(",", ", ")})


def test_an_ecdsa_p256_signature_verifies_like_kms_makes_it(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    manifest = build_manifest(folder, NAME, "1", "run-1")
    signature = key.sign(manifest.signed_bytes(), ec.ECDSA(hashes.SHA256()))
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tags = {
        MANIFEST_TAG: manifest.canonical(),
        MANIFEST_SIGNATURE_TAG: base64.b64encode(signature).decode(),
    }
    assert _verify(tags, pem=pem) == manifest
    with pytest.raises(SignatureError, match="does not verify"):
        _verify(signed_tags(folder, "1", "run-1"), pem=pem)


def test_other_key_types_are_refused(folder):
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(SignatureError, match="Ed25519 or ECDSA P-256"):
        _verify(signed_tags(folder, "1", "run-1"), pem=pem)
    with pytest.raises(SignatureError, match="not a PEM"):
        _verify(signed_tags(folder, "1", "run-1"), pem=b"-----BEGIN PUBLIC KEY-----\nnope\n")


# Reference statistics: the training range per feature, the basis of the input bounds.


def test_reference_statistics_record_each_feature_s_training_range():
    matrix = np.array([[1.0, -5.0], [3.0, 7.5], [2.0, 0.0]])
    reference = parse_reference(json.dumps(build_reference(matrix, ["a", "b"])), ["a", "b"])
    low, high = training_range(reference) or (None, None)
    np.testing.assert_array_equal(low, [1.0, -5.0])
    np.testing.assert_array_equal(high, [3.0, 7.5])


def test_statistics_written_before_the_range_was_recorded_still_parse_without_one():
    reference = build_reference(np.arange(6.0).reshape(3, 2), ["a", "b"])
    for feature in reference["features"]:
        del feature["min"], feature["max"]
    parsed = parse_reference(json.dumps(reference), ["a", "b"])
    assert training_range(parsed) is None and training_range(None) is None


@pytest.mark.parametrize(
    "change",
    [{"min": 6.0}, {"max": "9"}, {"min": 2.0, "max": 1.0}, {"max": float("inf")}, {"min": None}],
    ids=["above-max", "text", "inverted", "infinite", "null"],
)
def test_a_malformed_training_range_is_refused(change):
    reference = build_reference(np.arange(6.0).reshape(3, 2), ["a", "b"])
    reference["features"][1].update(change)
    with pytest.raises(ArtifactError, match="malformed range for b"):
        parse_reference(json.dumps(reference), ["a", "b"])
