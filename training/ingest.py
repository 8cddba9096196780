"""Ingest: fetch the dataset (path, s3://, dvc://path@rev or built-in) and fingerprint it."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

BUILTIN_SCHEME = "sklearn"
DVC_SCHEME = "dvc"


class IngestError(RuntimeError):
    """The dataset could not be read."""


@dataclass(frozen=True)
class IngestResult:
    source: str
    sha256: str
    rows: int
    frame: pd.DataFrame
    # For dvc:// sources: the revision asked for and the commit it resolved to.
    dvc: dict[str, str] = field(default_factory=dict)


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


def parse_dvc_uri(uri: str) -> tuple[str, str | None]:
    """``dvc://data/train.csv@v3`` -> (``data/train.csv``, ``v3``); no ``@`` means the workspace."""
    target = uri.removeprefix(f"{DVC_SCHEME}://")
    path, sep, rev = target.rpartition("@") if "@" in target else (target, "", "")
    if not path or (sep and not rev):
        raise IngestError(f"DVC URI must look like dvc://path/in/repo.csv@rev, got {uri!r}")
    return path, rev or None


def _dvc_bytes(uri: str) -> tuple[bytes, dict[str, str]]:
    # Imported lazily: DVC is heavy and only dvc:// sources need it.
    import dvc.api
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc.scm import SCMError

    path, rev = parse_dvc_uri(uri)
    repo = os.environ.get("MLSYS_DVC_REPO", ".")
    try:
        # Resolved first, so the bytes and the recorded commit cannot come from two revisions.
        with Repo(repo) as opened:
            commit = str(opened.scm.resolve_rev(rev or "HEAD"))
        raw = dvc.api.read(path, repo=repo, rev=commit if rev else None, mode="rb")
    except (DvcException, SCMError, OSError) as exc:
        raise IngestError(f"cannot read {uri} from the DVC repository {repo}: {exc}") from exc
    if not isinstance(raw, bytes):
        raise IngestError(f"DVC returned no bytes for {uri}")
    return raw, {"dvc.path": path, "dvc.rev": rev or "workspace", "dvc.commit": commit}


def read_source(uri: str, label: str) -> bytes:
    """Return the raw CSV bytes behind ``uri``."""
    return _read(uri, label)[0]


def _read(uri: str, label: str) -> tuple[bytes, dict[str, str]]:
    parsed = urlparse(uri)
    if parsed.scheme == DVC_SCHEME:
        return _dvc_bytes(uri)
    return _read_plain(uri, label), {}


def _read_plain(uri: str, label: str) -> bytes:
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
    raw, dvc = _read(uri, label)
    if not raw.strip():
        raise IngestError(f"dataset {uri} is empty")
    try:
        frame = pd.read_csv(io.BytesIO(raw))
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IngestError(f"dataset {uri} is not valid CSV: {exc}") from exc
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_bytes(raw)
    return IngestResult(
        source=uri, sha256=hashlib.sha256(raw).hexdigest(), rows=len(frame), frame=frame, dvc=dvc
    )
