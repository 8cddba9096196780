"""A workspace under an S3 URI, so steps running in separate pods hand over through a bucket.

A step downloads the workspace's files into a private temporary folder, runs on that copy,
and uploads what it changed when it ends (also when it fails, as a local folder would keep
a failed step's output). Only the files at the top of the workspace are the hand-over;
folders a step stages there (the registered model) stay in the pod.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.model_contract import sha256_file
from training.workspace import Workspace

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SCHEME = "s3://"


class RemoteWorkspaceError(RuntimeError):
    """The workspace URI is unusable or the bucket refused a read or a write."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # without the trailing slash

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        # Split by hand rather than with urlparse: a manual Airflow run id may hold '#' or '?'.
        bucket, _, prefix = uri.removeprefix(SCHEME).partition("/")
        prefix = prefix.strip("/")
        if not uri.startswith(SCHEME) or not bucket or not prefix:
            # A bare bucket would make its top level the workspace, which ingest clears.
            raise RemoteWorkspaceError(
                f"workspace URI {uri!r} must be s3://<bucket>/<prefix>, e.g. "
                "s3://work-bucket/training-work/<run id>"
            )
        return cls(bucket, prefix)

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}"

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"


def is_remote(workdir: str) -> bool:
    return workdir.startswith(SCHEME)


def open_workspace(workdir: str | None, default: Path) -> AbstractContextManager[Workspace]:
    """The workspace a step runs on: a local folder as is, or a synced copy of an S3 prefix."""
    if workdir is not None and is_remote(workdir):
        return s3_workspace(workdir)
    return nullcontext(Workspace(Path(workdir) if workdir else default))


@contextmanager
def s3_workspace(uri: str, client: S3Client | None = None) -> Iterator[Workspace]:
    """Download ``uri`` into a temporary folder, yield it, upload the changes afterwards."""
    location = S3Location.parse(uri)
    s3 = client or _client()
    with tempfile.TemporaryDirectory(prefix="mlsys-work-") as tmp:
        root = Path(tmp)
        downloaded = download(s3, location, root)
        try:
            yield Workspace(root, location=location.uri)
        finally:
            upload(s3, location, root, downloaded)


def _client() -> S3Client:
    import boto3

    # Credentials come from the default chain: EKS Pod Identity in the cluster.
    return boto3.client("s3")


def _names(s3: S3Client, location: S3Location) -> list[str]:
    names: list[str] = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=location.bucket, Prefix=f"{location.prefix}/", Delimiter="/"
    )
    for page in pages:
        names.extend(item["Key"].rsplit("/", 1)[-1] for item in page.get("Contents", []))
    return [name for name in names if name]


def download(s3: S3Client, location: S3Location, root: Path) -> dict[str, str]:
    """Copy every file of the workspace into ``root``; returns their SHA-256 by name."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        hashes = {}
        for name in _names(s3, location):
            s3.download_file(location.bucket, location.key(name), str(root / name))
            hashes[name] = sha256_file(root / name)
    except (BotoCoreError, ClientError) as exc:
        raise RemoteWorkspaceError(f"cannot read the workspace {location.uri}: {exc}") from exc
    return hashes


def upload(s3: S3Client, location: S3Location, root: Path, downloaded: dict[str, str]) -> None:
    """Upload new and changed files, delete the ones the step removed; leave the rest alone."""
    from botocore.exceptions import BotoCoreError, ClientError

    current = {path.name: path for path in root.iterdir() if path.is_file()}
    try:
        for name, path in sorted(current.items()):
            if downloaded.get(name) != sha256_file(path):
                s3.upload_file(str(path), location.bucket, location.key(name))
        for name in sorted(downloaded.keys() - current.keys()):
            s3.delete_object(Bucket=location.bucket, Key=location.key(name))
    except (BotoCoreError, ClientError) as exc:
        raise RemoteWorkspaceError(f"cannot write the workspace {location.uri}: {exc}") from exc
