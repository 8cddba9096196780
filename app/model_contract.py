"""The model contract between training and serving: names, trusted types, hashing, statistics.

Training writes model versions and the API reads them; everything both sides must agree on
lives here and nowhere else. This is a leaf module: it imports nothing from the project, so
the training image can depend on it without pulling in the web service.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final, Literal

import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

# Files inside a registered model version's folder (MLflow's layout plus ours).
MODEL_FILE: Final = "model.skops"
MLMODEL_FILE: Final = "MLmodel"
INPUT_EXAMPLE_FILE: Final = "input_example.json"
EXTRA_FILES_DIR: Final = "extra_files"
REFERENCE_FILE: Final = "reference_stats.json"

# Tags on a model version. The API trusts none of them for safety decisions on their own.
ARTIFACT_SHA_TAG: Final = "artifact_sha256"
DATASET_SHA_TAG: Final = "dataset_sha256"
FEATURES_TAG: Final = "feature_names"
METRIC_TAG_PREFIX: Final = "metric."
UNTRUSTED_TYPES_TAG: Final = "skops_untrusted_types"
GIT_COMMIT_TAG: Final = "git_commit"
DECISION_TAG: Final = "promotion_decision"
REASON_TAG: Final = "promotion_reason"
# The signed manifest of a version (canonical JSON) and its detached signature (base64).
# Both live in the registry, but only the signer's private key can make a pair that verifies.
MANIFEST_TAG: Final = "manifest"
MANIFEST_SIGNATURE_TAG: Final = "manifest_signature"

# The local key pair under $MLSYS_HOME (on AWS the private half is a KMS key instead).
LOCAL_SIGNING_KEY_FILE: Final = "model-signing-key.pem"
LOCAL_SIGNING_PUBLIC_KEY_FILE: Final = "model-signing-key.pub.pem"

# The model card (Markdown) of a registered version, at this path in the artifacts of the
# version's run (``runs:/<run_id>/model_card.md``): data, parameters, holdout metrics with
# confidence intervals, the comparison with the champion, drift and known limits.
MODEL_CARD_FILE: Final = "model_card.md"

# Registry aliases (MLflow stages are deprecated). Serving follows CHAMPION; PREVIOUS is the
# last champion, kept for a one-step rollback.
CHAMPION: Final = "champion"
CHALLENGER: Final = "challenger"
PREVIOUS: Final = "previous"

# skops refuses to rebuild any type that is not on this list. It lives in code, not in the
# artifact, so a tampered model cannot widen it (MLflow's own loader reads the list from the
# model's MLmodel file). Tree node arrays are not bounds-checked by scikit-learn, so they are
# trusted only together with the hash check.
TRUSTED_TYPES: Final[tuple[str, ...]] = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)

# Signature rules: only named numeric columns are servable; each MLflow column type maps to
# the JSON kind a request must send.
SERVABLE_COLUMN_TYPES: Final[dict[str, Literal["number", "integer"]]] = {
    "double": "number",
    "float": "number",
    "long": "integer",
    "integer": "integer",
}

# Reference statistics: deciles of each feature on the training split, the basis of the
# population stability index (PSI) that serving exports and training compares against, and
# the feature's minimum and maximum, the basis of the input bounds (older files lack them).
REFERENCE_FORMAT_VERSION: Final = 1
_REFERENCE_BINS: Final = 10
_PSI_FLOOR: Final = 1e-4


def embedded_tracking_uri(home: Path) -> str:
    """The SQLite store both sides use when no tracking server is configured."""
    return f"sqlite:///{home.resolve() / 'mlflow.db'}"


class ArtifactError(RuntimeError):
    """A model version's files are missing, altered, or break the contract."""


class ManifestError(ArtifactError):
    """A version's files do not match its manifest, or the manifest is malformed."""


class SignatureError(ArtifactError):
    """A manifest is unsigned, or its signature does not verify with the trusted key."""


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def untrusted_types(path: Path) -> list[str]:
    """Types in a skops file that skops would not load without an explicit allowance."""
    import skops.io as sio

    return [str(name) for name in sio.get_untrusted_types(file=path)]


def types_to_trust(model: Any) -> list[str]:
    """The allow-listed types ``model`` needs; raises if it needs any we do not trust."""
    import skops.io as sio

    needed = [str(name) for name in sio.get_untrusted_types(data=sio.dumps(model))]
    refused = [name for name in needed if name not in TRUSTED_TYPES]
    if refused:
        raise ArtifactError(f"model holds types the serving side will not trust: {refused}")
    return needed


def load_model(path: Path, expected_sha256: str | None) -> Any:
    """Load a skops file after checking its fingerprint and every type inside it."""
    import skops.io as sio

    if not path.is_file():
        raise ArtifactError(f"model artifact {path} does not exist")
    if expected_sha256 is not None:
        actual = sha256_file(path)
        if actual != expected_sha256:
            raise ArtifactError(
                f"artifact hash mismatch for {path.name}: expected {expected_sha256[:12]}, "
                f"file is {actual[:12]}"
            )
    refused = [name for name in untrusted_types(path) if name not in TRUSTED_TYPES]
    if refused:
        raise ArtifactError(f"model artifact holds untrusted types: {refused}")
    return sio.load(path, trusted=list(TRUSTED_TYPES))


# Every scikit-learn estimator may cast to float32 (trees do); beyond this a value becomes
# infinity inside the model, so no input may ever exceed it.
FLOAT32_MAX: Final = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class InputColumn:
    """One column of a model's input signature, as a request must send it."""

    name: str
    kind: Literal["number", "integer"]
    required: bool = True
    mlflow_type: str = "double"
    # The values the served model accepts; serving narrows them from the training range.
    low: float = -FLOAT32_MAX
    high: float = FLOAT32_MAX


def signature_columns(inputs: Any) -> list[InputColumn]:
    """Validate the ``inputs`` part of an MLflow signature (parsed JSON) against the rules."""
    if not inputs or not isinstance(inputs, list):
        raise ArtifactError("model has no input signature; refusing to serve it")
    columns = []
    for spec in inputs:
        if not isinstance(spec, dict):
            raise ArtifactError(f"unsupported signature column {spec!r}")
        mlflow_type = str(spec.get("type"))
        kind = SERVABLE_COLUMN_TYPES.get(mlflow_type)
        name = spec.get("name")
        if kind is None or not isinstance(name, str) or not name:
            raise ArtifactError(f"unsupported signature column {spec}; numeric named columns only")
        columns.append(InputColumn(name, kind, bool(spec.get("required", True)), mlflow_type))
    if len({c.name for c in columns}) != len(columns):
        raise ArtifactError("signature column names are not unique")
    return columns


def build_reference(matrix: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Per feature: decile edges of the training values, the share of rows in each bin, and
    the smallest and largest value."""
    features = []
    quantiles = np.linspace(0, 1, _REFERENCE_BINS + 1)[1:-1]
    for j, name in enumerate(names):
        column = matrix[:, j]
        edges = np.unique(np.quantile(column, quantiles))
        counts = np.bincount(np.searchsorted(edges, column, side="right"), minlength=len(edges) + 1)
        shares = (counts / counts.sum()).tolist()
        feature: dict[str, Any] = {"name": name, "edges": edges.tolist(), "expected": shares}
        low, high = float(column.min()), float(column.max())
        if math.isfinite(low) and math.isfinite(high):  # never write NaN into JSON
            feature.update(min=low, max=high)
        features.append(feature)
    return {"version": REFERENCE_FORMAT_VERSION, "rows": int(matrix.shape[0]), "features": features}


def parse_reference(text: str, names: list[str]) -> dict[str, Any]:
    """Read reference statistics and check they describe exactly ``names``, in order."""
    try:
        reference = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{REFERENCE_FILE} is not JSON: {exc}") from exc
    if not isinstance(reference, dict) or reference.get("version") != REFERENCE_FORMAT_VERSION:
        raise ArtifactError(f"{REFERENCE_FILE} is not format version {REFERENCE_FORMAT_VERSION}")
    features = reference.get("features")
    if (
        not isinstance(features, list)
        or [f.get("name") if isinstance(f, dict) else None for f in features] != names
    ):
        raise ArtifactError(f"{REFERENCE_FILE} does not describe the signature's columns")
    for feature in features:
        edges, expected = feature.get("edges"), feature.get("expected")
        if (
            not isinstance(edges, list)
            or not isinstance(expected, list)
            or len(expected) != len(edges) + 1
            or not all(isinstance(v, int | float) for v in [*edges, *expected])
        ):
            raise ArtifactError(f"{REFERENCE_FILE} has malformed bins for {feature['name']}")
        if "min" in feature or "max" in feature:
            low, high = feature.get("min"), feature.get("max")
            if not (
                isinstance(low, int | float)
                and isinstance(high, int | float)
                and math.isfinite(low)
                and math.isfinite(high)
                and low <= high
            ):
                raise ArtifactError(f"{REFERENCE_FILE} has a malformed range for {feature['name']}")
    return reference


def training_range(reference: dict[str, Any] | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Per feature, the training minimum and maximum of parsed statistics; None when any
    feature lacks them (files written before they were recorded)."""
    features = reference["features"] if reference else []
    if not features or not all("min" in f and "max" in f for f in features):
        return None
    low = np.array([f["min"] for f in features], dtype=np.float64)
    high = np.array([f["max"] for f in features], dtype=np.float64)
    return low, high


def bin_shares(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The share of ``values`` in each bin that the reference ``edges`` define."""
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    shares: np.ndarray = counts / max(int(counts.sum()), 1)
    return shares


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two bin-share vectors."""
    e = np.clip(expected, _PSI_FLOOR, None)
    a = np.clip(actual, _PSI_FLOOR, None)
    return float(np.sum((a - e) * np.log(a / e)))


# Manifests: the hashes of every file of a version, bound to its name, version and run.
MANIFEST_FORMAT_VERSION: Final = 1
# Prefixed to the signed bytes so a signature made for a manifest means nothing elsewhere.
_SIGNING_DOMAIN: Final = b"mlsys-model-manifest\n"
_SAFE_PART = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    run_id: str | None
    files: dict[str, str]  # relative POSIX path -> hex SHA-256

    def canonical(self) -> str:
        """The exact text that is signed and stored: sorted keys, no spaces, ASCII only."""
        body = {
            "format": MANIFEST_FORMAT_VERSION,
            "name": self.name,
            "version": self.version,
            "run_id": self.run_id,
            "files": self.files,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    def signed_bytes(self) -> bytes:
        return _SIGNING_DOMAIN + self.canonical().encode("ascii")


def _checked_path(relative: str) -> str:
    """Refuse absolute paths, ``..``, empty parts and anything but plain file names."""
    parts = relative.split("/")
    if not relative or not all(_SAFE_PART.match(p) and p not in (".", "..") for p in parts):
        raise ManifestError(f"unsafe path in manifest: {relative!r}")
    return str(PurePosixPath(*parts))


def _folder_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            raise ManifestError(f"{path.relative_to(folder)} is a symbolic link")
        if path.is_file():
            files[_checked_path(path.relative_to(folder).as_posix())] = path
    return files


def build_manifest(folder: Path, name: str, version: str, run_id: str | None) -> Manifest:
    """The manifest of every file under ``folder`` (a downloaded model version)."""
    files = {rel: sha256_file(path) for rel, path in _folder_files(folder).items()}
    if MODEL_FILE not in files:
        raise ManifestError(f"{folder} holds no {MODEL_FILE}")
    return Manifest(name, version, run_id, files)


def parse_manifest(text: str) -> Manifest:
    """Read a manifest, refusing anything but the canonical form of the current format."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"manifest is not JSON: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT_VERSION:
        raise ManifestError(f"manifest is not format version {MANIFEST_FORMAT_VERSION}")
    files, name, version, run_id = (
        raw.get("files"),
        raw.get("name"),
        raw.get("version"),
        raw.get("run_id"),
    )
    if (
        not isinstance(files, dict)
        or not all(isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) for v in files.values())
        or not isinstance(name, str)
        or not isinstance(version, str)
        or not (run_id is None or isinstance(run_id, str))
    ):
        raise ManifestError("manifest fields are malformed")
    manifest = Manifest(name, version, run_id, {_checked_path(k): v for k, v in files.items()})
    if manifest.canonical() != text:
        raise ManifestError("manifest is not in canonical form")
    return manifest


def check_folder(folder: Path, manifest: Manifest) -> None:
    """Every file the manifest names, with its hash, and no other file: else refuse."""
    present = _folder_files(folder)
    missing = sorted(set(manifest.files) - set(present))
    extra = sorted(set(present) - set(manifest.files))
    changed = sorted(
        rel
        for rel in set(manifest.files) & set(present)
        if sha256_file(present[rel]) != manifest.files[rel]
    )
    if missing or extra or changed:
        raise ManifestError(
            f"model files do not match the signed manifest: missing {missing}, "
            f"unexpected {extra}, changed {changed}"
        )


def load_public_key(pem: bytes) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
    """An Ed25519 key (local pair) or an ECDSA P-256 key (AWS KMS ECC_NIST_P256), from PEM."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise SignatureError(
            f"the model-signing public key is not a PEM public key: {exc}"
        ) from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise SignatureError("the model-signing key must be Ed25519 or ECDSA P-256")


def verify_manifest(
    manifest_text: str | None,
    signature_b64: str | None,
    public_key_pem: bytes,
    *,
    name: str,
    version: str,
    run_id: str | None,
) -> Manifest:
    """The manifest of ``name`` v``version``, if signed by the trusted key; else refuse."""
    if not manifest_text or not signature_b64:
        raise SignatureError(
            f"{name} v{version} has no signed manifest ({MANIFEST_TAG}, "
            f"{MANIFEST_SIGNATURE_TAG}); re-register it with the current training code"
        )
    key = load_public_key(public_key_pem)
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except ValueError as exc:
        raise SignatureError("manifest signature is not base64") from exc
    manifest = parse_manifest(manifest_text)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, manifest.signed_bytes())
        else:
            key.verify(signature, manifest.signed_bytes(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureError(f"manifest signature of {name} v{version} does not verify") from None
    # Checked after the signature: a genuine manifest of another version must not be replayed.
    if (manifest.name, manifest.version, manifest.run_id) != (name, version, run_id):
        raise SignatureError(
            f"manifest is signed for {manifest.name} v{manifest.version} (run "
            f"{manifest.run_id}), not for {name} v{version} (run {run_id})"
        )
    return manifest
