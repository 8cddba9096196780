"""Keep every ingested dataset, addressed by its SHA-256, so any version can be rebuilt."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from urllib.parse import urlparse

from training.ingest import IngestError, read_source
from training.tracking import TrackingSettings


def store_root(settings: TrackingSettings | None = None) -> str:
    """``MLSYS_DATASET_STORE`` (the datasets bucket on AWS) or ``$MLSYS_HOME/datasets``."""
    settings = settings or TrackingSettings()
    return settings.dataset_store or (settings.home.resolve() / "datasets").as_uri()


def snapshot_uri(sha256: str, root: str) -> str:
    return f"{root.rstrip('/')}/sha256/{sha256}.csv"


def keep(path: Path, sha256: str, root: str | None = None) -> str:
    """Copy ``path`` into the store unless it is there already; returns its URI."""
    uri = snapshot_uri(sha256, root or store_root())
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        s3, key = boto3.client("s3"), parsed.path.lstrip("/")
        try:
            s3.head_object(Bucket=parsed.netloc, Key=key)
        except ClientError:
            try:
                s3.upload_file(str(path), parsed.netloc, key)
            except (BotoCoreError, ClientError) as exc:
                raise IngestError(f"cannot keep the dataset snapshot at {uri}: {exc}") from exc
        return uri
    target = Path(parsed.path)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copyfile(path, partial)
        partial.replace(target)  # readers never see half a file
    return uri


def fetch(uri: str, sha256: str) -> bytes:
    """Read a kept snapshot back and check it is the data the run was trained on."""
    raw = read_source(uri, label="")
    actual = hashlib.sha256(raw).hexdigest()
    if actual != sha256:
        raise IngestError(f"snapshot {uri} has SHA-256 {actual[:12]}, expected {sha256[:12]}")
    return raw
