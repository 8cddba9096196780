"""Signing manifests: a local Ed25519 pair under MLSYS_HOME, or an asymmetric KMS key."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import boto3
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from moto import mock_aws

from app.model_contract import (
    LOCAL_SIGNING_KEY_FILE,
    LOCAL_SIGNING_PUBLIC_KEY_FILE,
    MANIFEST_SIGNATURE_TAG,
    MANIFEST_TAG,
    Manifest,
    SignatureError,
    verify_manifest,
)
from training.signing import (
    KmsSigner,
    LocalSigner,
    SigningError,
    SigningSettings,
    signature_tags,
    signer_from_settings,
)

MANIFEST = Manifest("model", "3", "run-3", {"model.skops": "a" * 64, "MLmodel": "b" * 64})


def _verify(tags: dict[str, str], pem: bytes, version: str = "3") -> Manifest:
    return verify_manifest(
        tags[MANIFEST_TAG],
        tags[MANIFEST_SIGNATURE_TAG],
        pem,
        name="model",
        version=version,
        run_id="run-3",
    )


def test_the_local_pair_is_made_once_with_a_private_key_only_its_owner_reads(tmp_path):
    home = tmp_path / "home"
    signer = LocalSigner(home)
    private = home / LOCAL_SIGNING_KEY_FILE
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (home / LOCAL_SIGNING_PUBLIC_KEY_FILE).read_bytes() == signer.public_key_pem()
    again = LocalSigner(home)
    assert again.public_key_pem() == signer.public_key_pem()  # not regenerated
    tags = signature_tags(MANIFEST, again)
    assert _verify(tags, (home / LOCAL_SIGNING_PUBLIC_KEY_FILE).read_bytes()) == MANIFEST
    with pytest.raises(SignatureError, match="not for"):
        _verify(tags, signer.public_key_pem(), version="4")


def test_a_private_key_others_can_read_is_refused(tmp_path):
    LocalSigner(tmp_path)
    (tmp_path / LOCAL_SIGNING_KEY_FILE).chmod(0o644)
    with pytest.raises(SigningError, match="0600"):
        LocalSigner(tmp_path)


def test_a_symlinked_private_key_is_refused(tmp_path):
    LocalSigner(tmp_path / "real")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / LOCAL_SIGNING_KEY_FILE).symlink_to(
        tmp_path / "real" / LOCAL_SIGNING_KEY_FILE
    )
    with pytest.raises(SigningError, match="regular file"):
        LocalSigner(tmp_path / "home")


def test_the_private_key_is_never_printed(tmp_path, capsys, caplog):
    signer = LocalSigner(tmp_path)
    signature_tags(MANIFEST, signer)
    secret = (tmp_path / LOCAL_SIGNING_KEY_FILE).read_text().splitlines()[1]
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err + caplog.text


def test_the_setting_selects_the_signer(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    local = signer_from_settings(SigningSettings(home=tmp_path))
    assert isinstance(local, LocalSigner)
    kms = signer_from_settings(SigningSettings(home=tmp_path, signing_key="kms:arn:aws:kms:k"))
    assert isinstance(kms, KmsSigner) and kms.key_id == "arn:aws:kms:k"
    with pytest.raises(SigningError, match="kms:<key-arn>"):
        signer_from_settings(SigningSettings(home=tmp_path, signing_key="vault:x"))


@pytest.fixture
def moto_digest_signing(monkeypatch):
    """moto ignores MessageType=DIGEST and hashes the digest again (getmoto/moto#10202, open);
    this gives its P-256 keys AWS's documented behaviour: sign the 32-byte digest as given."""
    from moto.kms import utils as moto_kms

    def sign(self, message: bytes, signing_algorithm: str) -> bytes:
        assert signing_algorithm == "ECDSA_SHA_256" and len(message) == 32
        return self.private_key.sign(message, ec.ECDSA(utils.Prehashed(hashes.SHA256())))

    monkeypatch.setattr(moto_kms.ECDSAPrivateKey, "sign", sign)


@mock_aws
def test_a_kms_signature_verifies_with_the_kms_public_key(moto_digest_signing, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    client = boto3.client("kms", region_name="eu-west-1")
    arn = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    sent: list[dict] = []
    client.meta.events.register(
        "provide-client-params.kms.Sign", lambda params, **_: sent.append(params)
    )
    signer = KmsSigner(arn, client)
    tags = signature_tags(MANIFEST, signer)
    (call,) = sent
    assert call["MessageType"] == "DIGEST" and call["SigningAlgorithm"] == "ECDSA_SHA_256"
    assert call["Message"] == hashlib.sha256(MANIFEST.signed_bytes()).digest()
    # Serving holds only the public key from GetPublicKey, as PEM; no AWS call to verify.
    pem = signer.public_key_pem()
    assert _verify(tags, pem) == MANIFEST
    forged = {**tags, MANIFEST_TAG: tags[MANIFEST_TAG].replace("run-3", "run-4")}
    with pytest.raises(SignatureError, match="does not verify"):
        _verify(forged, pem)


def test_a_kms_key_is_written_where_serving_reads_it(tmp_path: Path):
    """The public half is PEM that serving loads from a file (no AWS SDK in its image)."""
    with mock_aws():
        client = boto3.client("kms", region_name="eu-west-1")
        key = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
        pem = KmsSigner(key["KeyMetadata"]["KeyId"], client).public_key_pem()
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
