from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from training import snapshots
from training.config import load_config
from training.ingest import IngestError, ingest, parse_dvc_uri
from training.pipeline import step_ingest
from training.workspace import Workspace


def test_builtin_dataset_is_written_as_csv_with_its_fingerprint(tmp_path: Path):
    snapshot = tmp_path / "dataset.csv"
    result = ingest("sklearn://breast_cancer", "target", snapshot)
    assert result.rows == 569
    assert result.sha256 == hashlib.sha256(snapshot.read_bytes()).hexdigest()
    assert "mean_radius" in result.frame.columns
    assert "target" in result.frame.columns
    # Deterministic: the same source gives the same bytes, so the hash identifies the data.
    assert (
        ingest("sklearn://breast_cancer", "target", tmp_path / "again.csv").sha256 == result.sha256
    )


def test_local_csv(tmp_path: Path):
    source = tmp_path / "data.csv"
    source.write_text("a,target\n1,0\n2,1\n")
    result = ingest(str(source), "target", tmp_path / "snap.csv")
    assert (result.rows, list(result.frame.columns)) == (2, ["a", "target"])
    assert (tmp_path / "snap.csv").read_bytes() == source.read_bytes()


@mock_aws
def test_s3_ingest_reads_the_object_and_hashes_its_bytes(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    body = b"a,target\n1,0\n2,1\n3,0\n"
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(
        Bucket="datasets", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3.put_object(Bucket="datasets", Key="v1/data.csv", Body=body)
    result = ingest("s3://datasets/v1/data.csv", "target", tmp_path / "snap.csv")
    assert result.rows == 3
    assert result.sha256 == hashlib.sha256(body).hexdigest()


@mock_aws
def test_missing_s3_object_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="datasets", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    with pytest.raises(IngestError, match=r"s3://datasets/missing\.csv"):
        ingest("s3://datasets/missing.csv", "target", tmp_path / "snap.csv")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("ftp://host/data.csv", "unsupported dataset URI scheme"),
        ("sklearn://iris_unknown", "unknown built-in dataset"),
        ("s3://bucket-only", "s3://bucket/key"),
    ],
)
def test_bad_uris(tmp_path: Path, uri: str, message: str):
    with pytest.raises(IngestError, match=message):
        ingest(uri, "target", tmp_path / "snap.csv")


def test_missing_and_empty_files(tmp_path: Path):
    with pytest.raises(IngestError, match="cannot read"):
        ingest(str(tmp_path / "absent.csv"), "target", tmp_path / "snap.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    with pytest.raises(IngestError, match="empty"):
        ingest(str(empty), "target", tmp_path / "snap.csv")


def test_dvc_uris_name_a_path_and_a_revision():
    assert parse_dvc_uri("dvc://data/train.csv@v3") == ("data/train.csv", "v3")
    assert parse_dvc_uri("dvc://data/train.csv") == ("data/train.csv", None)
    for bad in ("dvc://@v3", "dvc://data/train.csv@"):
        with pytest.raises(IngestError, match=r"dvc://path/in/repo\.csv@rev"):
            parse_dvc_uri(bad)


def test_a_failed_ingest_leaves_the_previous_work_folder_alone(mlsys_home: Path, tmp_path: Path):
    good = tmp_path / "good.csv"
    good.write_text("a,target\n1,0\n2,1\n")
    config = load_config(overrides={"dataset": {"uri": str(good)}})
    ws = Workspace(tmp_path / "ws")
    first = step_ingest(config, ws)
    ws.write("train", {"run_id": "earlier"})
    broken = load_config(overrides={"dataset": {"uri": str(tmp_path / "absent.csv")}})
    with pytest.raises(IngestError):
        step_ingest(broken, ws)
    assert ws.read("ingest") == first
    assert ws.read("train") == {"run_id": "earlier"}
    assert ws.dataset.read_bytes() == good.read_bytes()
    assert not ws.incoming.exists()


def test_every_snapshot_is_kept_by_its_hash(mlsys_home: Path, tmp_path: Path):
    source = tmp_path / "data.csv"
    source.write_text("a,target\n1,0\n2,1\n")
    config = load_config(overrides={"dataset": {"uri": str(source)}})
    summary = step_ingest(config, Workspace(tmp_path / "ws"))
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    assert (
        summary["snapshot"]
        == (mlsys_home.resolve() / "datasets" / "sha256" / f"{sha}.csv").as_uri()
    )
    assert snapshots.fetch(summary["snapshot"], sha) == source.read_bytes()
    with pytest.raises(IngestError, match="expected 000000000000"):
        snapshots.fetch(summary["snapshot"], "0" * 64)


@mock_aws
def test_snapshots_go_to_the_datasets_bucket_when_configured(
    mlsys_home: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("MLSYS_DATASET_STORE", "s3://datasets/snapshots")
    boto3.client("s3").create_bucket(Bucket="datasets")
    source = tmp_path / "data.csv"
    source.write_text("a,target\n1,0\n2,1\n")
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    uri = snapshots.keep(source, sha)
    assert uri == f"s3://datasets/snapshots/sha256/{sha}.csv"
    assert snapshots.keep(source, sha) == uri  # already there: kept once
    assert snapshots.fetch(uri, sha) == source.read_bytes()
