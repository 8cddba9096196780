"""The model artifact contract: skops file, SHA-256 fingerprint, and the types we trust."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import skops.io as sio

MODEL_FILE = "model.skops"

# skops refuses to rebuild any type that is not on this list. It lives in our code, not in
# the artifact, so a tampered model cannot widen it (MLflow's own loader reads the list from
# the model's MLmodel file). Tree node arrays are not bounds-checked by scikit-learn, so they
# are trusted only together with the hash check: the API loads an artifact only when its
# SHA-256 matches the tag our pipeline wrote at registration.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


class ArtifactError(RuntimeError):
    """A model artifact is missing, altered, or holds types we do not trust."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def untrusted_types(path: Path) -> list[str]:
    """Types in the artifact that skops would not load without an explicit allowance."""
    return [str(name) for name in sio.get_untrusted_types(file=path)]


def types_to_trust(model: Any) -> list[str]:
    """The allow-listed types ``model`` needs; raises if it needs any we do not trust."""
    needed = [str(name) for name in sio.get_untrusted_types(data=sio.dumps(model))]
    refused = [name for name in needed if name not in TRUSTED_TYPES]
    if refused:
        raise ArtifactError(f"model holds types the serving side will not trust: {refused}")
    return needed


def load_model(path: Path, expected_sha256: str | None) -> Any:
    """Load a skops artifact after checking its fingerprint and the types inside it."""
    if not path.is_file():
        raise ArtifactError(f"model artifact {path} does not exist")
    if expected_sha256 is not None:
        actual = sha256_file(path)
        if actual != expected_sha256:
            raise ArtifactError(
                f"artifact hash mismatch for {path.name}: registry says {expected_sha256[:12]}, "
                f"file is {actual[:12]}"
            )
    refused = [name for name in untrusted_types(path) if name not in TRUSTED_TYPES]
    if refused:
        raise ArtifactError(f"model artifact holds untrusted types: {refused}")
    return sio.load(path, trusted=list(TRUSTED_TYPES))
