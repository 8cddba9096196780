"""Signs model manifests: AWS KMS (asymmetric ECC key) in the cloud, a local Ed25519 pair here.

``MLSYS_SIGNING_KEY=kms:<key-arn>`` selects KMS: the private key never leaves it, and the
training identity may only ``kms:Sign``. Otherwise the pair under ``$MLSYS_HOME`` is used,
generated on first use with the private half readable by its owner only. Serving verifies
with the public key alone (app/model_contract.py).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.model_contract import (
    LOCAL_SIGNING_KEY_FILE,
    LOCAL_SIGNING_PUBLIC_KEY_FILE,
    MANIFEST_SIGNATURE_TAG,
    MANIFEST_TAG,
    Manifest,
)

KMS_PREFIX = "kms:"


class SigningError(RuntimeError):
    """The signing key is unusable (bad setting, unsafe key file, KMS refused)."""


class Signer(Protocol):
    def sign(self, message: bytes) -> bytes: ...

    def public_key_pem(self) -> bytes: ...


class SigningSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", validate_by_name=True)

    home: Path = Field(default=Path(".mlsys"), validation_alias="MLSYS_HOME")
    signing_key: str | None = Field(
        default=None,
        validation_alias="MLSYS_SIGNING_KEY",
        description="kms:<key-arn> to sign with AWS KMS; unset for the local key pair.",
    )


def _public_pem(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class LocalSigner:
    """An Ed25519 pair in ``home``: created once, the private key written 0600 and never shown."""

    def __init__(self, home: Path) -> None:
        self.private_path = home / LOCAL_SIGNING_KEY_FILE
        self.public_path = home / LOCAL_SIGNING_PUBLIC_KEY_FILE
        self._key = self._load_or_create(home)

    def _load_or_create(self, home: Path) -> ed25519.Ed25519PrivateKey:
        home.mkdir(parents=True, exist_ok=True)
        if not self.private_path.exists():
            key = ed25519.Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            # O_EXCL: never follow a planted link or overwrite a key another run just made.
            fd = os.open(self.private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
        info = self.private_path.lstat()
        if self.private_path.is_symlink() or info.st_mode & 0o077:
            raise SigningError(
                f"{self.private_path} must be a regular file readable by its owner only (0600)"
            )
        loaded = serialization.load_pem_private_key(self.private_path.read_bytes(), None)
        if not isinstance(loaded, ed25519.Ed25519PrivateKey):
            raise SigningError(f"{self.private_path} is not an Ed25519 private key")
        public = _public_pem(loaded)
        if not self.public_path.exists() or self.public_path.read_bytes() != public:
            self.public_path.write_bytes(public)
        return loaded

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def public_key_pem(self) -> bytes:
        return _public_pem(self._key)


class KmsSigner:
    """An asymmetric KMS key (ECC_NIST_P256); KMS signs the SHA-256 digest we send."""

    def __init__(self, key_id: str, client: Any | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("kms")
        self.key_id = key_id
        self._client = client

    def sign(self, message: bytes) -> bytes:
        answer = self._client.sign(
            KeyId=self.key_id,
            Message=hashlib.sha256(message).digest(),
            MessageType="DIGEST",
            SigningAlgorithm="ECDSA_SHA_256",
        )
        signature: bytes = answer["Signature"]
        return signature

    def public_key_pem(self) -> bytes:
        """The key to give serving (MLSYS_API_MODEL_SIGNING_PUBLIC_KEY_FILE), as PEM."""
        der = self._client.get_public_key(KeyId=self.key_id)["PublicKey"]
        key = serialization.load_der_public_key(der)
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def signer_from_settings(settings: SigningSettings | None = None) -> Signer:
    """KMS when ``MLSYS_SIGNING_KEY=kms:<arn>``, else the local pair under ``MLSYS_HOME``."""
    settings = settings or SigningSettings()
    choice = settings.signing_key
    if choice is None or choice in ("", "local"):
        return LocalSigner(settings.home)
    if choice.startswith(KMS_PREFIX) and len(choice) > len(KMS_PREFIX):
        return KmsSigner(choice.removeprefix(KMS_PREFIX))
    raise SigningError("MLSYS_SIGNING_KEY must be 'kms:<key-arn>' or 'local' (or unset)")


def signature_tags(manifest: Manifest, signer: Signer) -> dict[str, str]:
    """The two tags that carry a signed manifest on a model version."""
    signature = signer.sign(manifest.signed_bytes())
    return {
        MANIFEST_TAG: manifest.canonical(),
        MANIFEST_SIGNATURE_TAG: base64.b64encode(signature).decode("ascii"),
    }
