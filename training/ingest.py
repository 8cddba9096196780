"""Ingest: fetch the dataset (local path, s3:// URI or a built-in one) and fingerprint it."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

BUILTIN_SCHEME = "sklearn"


class IngestError(RuntimeError):
    """The dataset could not be read."""


@dataclass(frozen=True)
class IngestResult:
    source: str
    sha256: str
    rows: int
    frame: pd.DataFrame


def _builtin_csv(name: str, label: str) -> bytes:
    # Imported lazily: only the built-in demo data needs sklearn's dataset loaders.
    from sklearn import datasets

    loaders = {"breast_cancer": datasets.load_breast_cancer}
    if name not in loaders:
        raise IngestError(f"unknown built-in dataset {name!r}; known: {sorted(loaders)}")
    frame: pd.DataFrame = loaders[name](as_frame=True).frame
    frame.columns = [str(column).replace(" ", "_") for column in frame.columns]
    frame = frame.rename(columns={"target": label})
    return str(frame.to_csv(index=False, lineterminator="\n")).encode()


def _s3_bytes(uri: str) -> bytes:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    parsed = urlparse(uri)
    if not parsed.netloc or not parsed.path.lstrip("/"):
        raise IngestError(f"S3 URI must look like s3://bucket/key, got {uri!r}")
    try:
        response = boto3.client("s3").get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
        body: bytes = response["Body"].read()
    except (BotoCoreError, ClientError) as exc:
        raise IngestError(f"cannot read {uri}: {exc}") from exc
    return body


def read_source(uri: str, label: str) -> bytes:
    """Return the raw CSV bytes behind ``uri``."""
    parsed = urlparse(uri)
    if parsed.scheme == BUILTIN_SCHEME:
        return _builtin_csv(parsed.netloc, label)
    if parsed.scheme == "s3":
        return _s3_bytes(uri)
    if parsed.scheme in ("", "file"):
        path = Path(parsed.path if parsed.scheme == "file" else uri)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise IngestError(f"cannot read {path}: {exc}") from exc
    raise IngestError(f"unsupported dataset URI scheme {parsed.scheme!r} in {uri!r}")


def ingest(uri: str, label: str, snapshot: Path) -> IngestResult:
    """Read the dataset, keep a byte-exact snapshot of it and record its SHA-256 and size."""
    raw = read_source(uri, label)
    if not raw.strip():
        raise IngestError(f"dataset {uri} is empty")
    try:
        frame = pd.read_csv(io.BytesIO(raw))
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IngestError(f"dataset {uri} is not valid CSV: {exc}") from exc
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_bytes(raw)
    return IngestResult(
        source=uri, sha256=hashlib.sha256(raw).hexdigest(), rows=len(frame), frame=frame
    )
