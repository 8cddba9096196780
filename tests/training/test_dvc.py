"""DVC as the data layer: a file pushed to the datasets bucket (moto) is ingested at a revision."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.servers import free_port, running
from training.config import load_config
from training.ingest import ingest
from training.pipeline import step_ingest, step_train, step_validate
from training.tracking import configure
from training.workspace import Workspace

pytestmark = pytest.mark.slow

BUCKET = "mlsys-datasets"
DVC = str(Path(sys.executable).with_name("dvc"))


@pytest.fixture
def datasets_bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The datasets bucket behind an S3 API (moto server); returns the endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(tmp_path / "dvc-site-cache"),
    }.items():
        monkeypatch.setenv(key, value)
    moto = Path(sys.executable).with_name("moto_server")
    argv = [str(moto), "-H", "127.0.0.1", "-p", str(port)]
    with running(argv, f"{endpoint}/moto-api/", log=tmp_path / "moto.log"):
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint


def _sh(repo: Path, *argv: str) -> str:
    done = subprocess.run(argv, cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _commit_version(repo: Path, body: str, message: str) -> str:
    """The documented commands: dvc add, git commit, dvc push."""
    (repo / "data" / "train.csv").write_text(body)
    _sh(repo, DVC, "add", "data/train.csv")
    _sh(repo, "git", "add", "data")
    _sh(repo, "git", "commit", "-q", "-m", message)
    _sh(repo, DVC, "push")
    return _sh(repo, "git", "rev-parse", "HEAD")


@pytest.fixture
def dvc_repo(tmp_path: Path, datasets_bucket: str) -> Path:
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    _sh(repo, "git", "init", "-q")
    _sh(repo, "git", "config", "user.email", "ci@example.com")
    _sh(repo, "git", "config", "user.name", "ci")
    _sh(repo, DVC, "init", "-q")
    _sh(repo, DVC, "remote", "add", "-d", "datasets", f"s3://{BUCKET}/dvc")
    _sh(repo, DVC, "remote", "modify", "datasets", "endpointurl", datasets_bucket)
    _sh(repo, "git", "add", ".dvc")
    _sh(repo, "git", "commit", "-q", "-m", "dvc")
    return repo


def test_ingest_pulls_a_dvc_file_at_a_revision_from_the_bucket(
    dvc_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    v1, v2 = "a,target\n1,0\n2,1\n", "a,target\n1,0\n2,1\n3,1\n"
    rev1 = _commit_version(dvc_repo, v1, "data v1")
    rev2 = _commit_version(dvc_repo, v2, "data v2")
    # Nothing local any more: the bytes can only come from the bucket.
    shutil.rmtree(dvc_repo / ".dvc" / "cache")
    (dvc_repo / "data" / "train.csv").unlink()
    monkeypatch.setenv("MLSYS_DVC_REPO", str(dvc_repo))
    first = ingest(f"dvc://data/train.csv@{rev1[:10]}", "target", tmp_path / "one.csv")
    assert (tmp_path / "one.csv").read_text() == v1
    assert first.sha256 == hashlib.sha256(v1.encode()).hexdigest()
    assert first.dvc == {"dvc.path": "data/train.csv", "dvc.rev": rev1[:10], "dvc.commit": rev1}
    latest = ingest("dvc://data/train.csv@HEAD", "target", tmp_path / "two.csv")
    assert latest.rows == 3 and latest.dvc["dvc.commit"] == rev2


def test_every_run_records_the_dvc_revision_and_digest(
    dvc_repo: Path, mlsys_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    source = tmp_path / "source.csv"
    ingest("sklearn://breast_cancer", "target", source)
    rev = _commit_version(dvc_repo, source.read_text(), "breast cancer")
    monkeypatch.setenv("MLSYS_DVC_REPO", str(dvc_repo))
    config = load_config(overrides={"dataset": {"uri": f"dvc://data/train.csv@{rev}"}})
    ws = Workspace(tmp_path / "ws")
    ingested = step_ingest(config, ws)
    step_validate(config, ws)
    trained = step_train(config, ws)
    configure(config.experiment)
    import mlflow

    tags = mlflow.MlflowClient().get_run(trained["run_id"]).data.tags
    assert tags["dvc.commit"] == rev and tags["dvc.path"] == "data/train.csv"
    assert (
        tags["dataset_sha256"]
        == ingested["sha256"]
        == hashlib.sha256(source.read_bytes()).hexdigest()
    )
