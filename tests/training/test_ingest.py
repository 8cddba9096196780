from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from training.ingest import IngestError, ingest


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
