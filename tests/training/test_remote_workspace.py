"""The S3 workspace: how steps in separate pods hand over through a bucket (moto in-process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from training.cli import cli
from training.remote_workspace import RemoteWorkspaceError, S3Location, s3_workspace
from training.workspace import StepOrderError

BUCKET = "work-bucket"
WORK = f"s3://{BUCKET}/training-work/ml_training_pipeline/manual__2026-11-28T00:00:00+00:00"
runner = CliRunner()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client


def _keys(s3, prefix: str = "training-work/") -> set[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"] for item in listed.get("Contents", [])}


@pytest.mark.parametrize(
    "uri", ["s3://bucket-only", "s3://bucket-only/", "s3:///no-bucket", "/local/path"]
)
def test_a_uri_without_bucket_and_prefix_is_refused(uri: str):
    with pytest.raises(RemoteWorkspaceError, match=r"must be s3://<bucket>/<prefix>"):
        S3Location.parse(uri)


def test_a_run_id_with_url_characters_stays_in_the_prefix():
    location = S3Location.parse("s3://b/work/manual__x?y#z/")
    assert (location.bucket, location.prefix) == ("b", "work/manual__x?y#z")
    assert location.key("ingest.json") == "work/manual__x?y#z/ingest.json"


def test_outputs_reach_the_next_step_through_the_bucket(s3):
    with s3_workspace(WORK) as ws:
        ws.write("ingest", {"sha256": "abc"})
        ws.dataset.write_text("a,target\n1,0\n")
        (ws.root / "registered-model").mkdir()
        (ws.root / "registered-model" / "MLmodel").write_text("staged only")
    prefix = S3Location.parse(WORK).prefix
    assert _keys(s3) == {f"{prefix}/ingest.json", f"{prefix}/dataset.csv"}
    with s3_workspace(WORK) as ws:
        assert ws.read("ingest") == {"sha256": "abc"}
        assert ws.dataset.read_text() == "a,target\n1,0\n"
        assert ws.where == WORK


def test_unchanged_files_are_not_uploaded_again_and_cleared_ones_are_deleted(s3):
    with s3_workspace(WORK) as ws:
        ws.write("ingest", {})
        ws.dataset.write_text("a\n1\n")
    prefix = S3Location.parse(WORK).prefix
    before = s3.head_object(Bucket=BUCKET, Key=f"{prefix}/dataset.csv")["LastModified"]
    uploads: list[str] = []
    spy = boto3.client("s3", region_name="eu-west-1")
    spy.meta.events.register("before-call.s3.PutObject", lambda params, **_: uploads.append(""))
    with s3_workspace(WORK, client=spy) as ws:
        ws.write("validate", {"ok": True})
    assert len(uploads) == 1  # validate.json only, not the dataset
    assert s3.head_object(Bucket=BUCKET, Key=f"{prefix}/dataset.csv")["LastModified"] == before
    with s3_workspace(WORK) as ws:
        ws.clear(keep=ws.dataset)
    assert _keys(s3) == {f"{prefix}/dataset.csv"}


def test_a_failed_step_still_hands_over_what_it_wrote(s3):
    def failing_validate() -> None:
        with s3_workspace(WORK) as ws:
            ws.write("validate", {"ok": False})
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        failing_validate()
    with s3_workspace(WORK) as ws:
        assert ws.read("validate") == {"ok": False}


def test_other_runs_are_not_touched(s3):
    other = f"s3://{BUCKET}/training-work/ml_training_pipeline/other-run"
    with s3_workspace(other) as ws:
        ws.write("ingest", {"run": "other"})
    with s3_workspace(WORK) as ws:
        ws.write("ingest", {"run": "this"})
        ws.clear()
    with s3_workspace(other) as ws:
        assert ws.read("ingest") == {"run": "other"}


def test_a_missing_bucket_names_the_workspace(s3):
    with (
        pytest.raises(RemoteWorkspaceError, match=r"cannot read the workspace s3://absent/work"),
        s3_workspace("s3://absent/work"),
    ):
        pass


def test_a_step_refuses_when_the_previous_output_is_missing_in_s3(s3, mlsys_home: Path):
    result = runner.invoke(cli, ["train", "--workdir", WORK])
    assert result.exit_code == 1
    assert f"step 'ingest' has not run in {WORK}; run it first" in result.output
    with s3_workspace(WORK) as ws:
        ws.write("ingest", {"sha256": "abc"})
    result = runner.invoke(cli, ["train", "--workdir", WORK])
    assert result.exit_code == 1
    assert "step 'validate' has not run" in result.output
    with pytest.raises(StepOrderError), s3_workspace(WORK) as ws:
        ws.read("train")


@pytest.mark.slow
def test_the_six_steps_as_six_pods_reach_a_champion(s3, mlsys_home: Path):
    """Each step starts from an empty temporary folder and sees only the bucket, like a pod."""

    def step(*args: str):
        result = runner.invoke(cli, [*args, "--workdir", WORK], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    assert json.loads(step("ingest").stdout)["rows"] == 569
    assert "no violations" in step("validate").output
    assert json.loads(step("train").stdout)["run_id"]
    assert json.loads(step("evaluate").stdout)["roc_auc"] > 0.97
    assert "registered breast-cancer-classifier v1" in step("register").output
    assert "PROMOTED to @champion" in step("promote").output
    names = {key.rsplit("/", 1)[-1] for key in _keys(s3)}
    assert {f"{name}.json" for name in ("ingest", "validate", "train", "evaluate")} <= names
    assert {"register.json", "promote.json", "dataset.csv", "holdout.csv"} <= names
    assert not any("registered-model" in key for key in _keys(s3))
