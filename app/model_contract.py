"""The model contract between training and serving: names, trusted types, hashing, statistics.

Training writes model versions and the API reads them; everything both sides must agree on
lives here and nowhere else. This is a leaf module: it imports nothing from the project, so
the training image can depend on it without pulling in the web service.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

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
# population stability index (PSI) that serving exports and training compares against.
REFERENCE_FORMAT_VERSION: Final = 1
_REFERENCE_BINS: Final = 10
_PSI_FLOOR: Final = 1e-4


def embedded_tracking_uri(home: Path) -> str:
    """The SQLite store both sides use when no tracking server is configured."""
    return f"sqlite:///{home.resolve() / 'mlflow.db'}"


class ArtifactError(RuntimeError):
    """A model version's files are missing, altered, or break the contract."""


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


@dataclass(frozen=True)
class InputColumn:
    """One column of a model's input signature, as a request must send it."""

    name: str
    kind: Literal["number", "integer"]
    required: bool = True
    mlflow_type: str = "double"


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
    """Per feature: decile edges of the training values and the share of rows in each bin."""
    features = []
    quantiles = np.linspace(0, 1, _REFERENCE_BINS + 1)[1:-1]
    for j, name in enumerate(names):
        column = matrix[:, j]
        edges = np.unique(np.quantile(column, quantiles))
        counts = np.bincount(np.searchsorted(edges, column, side="right"), minlength=len(edges) + 1)
        features.append(
            {"name": name, "edges": edges.tolist(), "expected": (counts / counts.sum()).tolist()}
        )
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
    return reference


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
