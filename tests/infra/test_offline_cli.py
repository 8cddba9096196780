"""`make plan` and `make plan-diff` as reviewers run them."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from infra.offline.__main__ import cli

runner = CliRunner()


def test_plan_writes_resources_and_manifests(tmp_path):
    result = runner.invoke(cli, ["plan", "--stack", "staging", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "aws:eks/cluster:Cluster" in result.stdout and "total" in result.stdout
    data = json.loads((tmp_path / "staging" / "resources.json").read_text())
    assert data["stack"] == "staging" and len(data["resources"]) > 100
    manifests = {
        p.name: yaml.safe_load(p.read_text())
        for p in (tmp_path / "staging" / "manifests").glob("*.yaml")
    }
    assert manifests["_cluster--storageclass--gp3.yaml"]["apiVersion"] == "storage.k8s.io/v1"
    job = manifests["platform-db--job--create-databases.yaml"]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")


def test_unknown_stack_is_refused():
    result = runner.invoke(cli, ["plan", "--stack", "qa"])
    assert result.exit_code != 0 and "unknown stack 'qa'" in result.output


def test_diff_shows_what_differs_between_stacks():
    result = runner.invoke(cli, ["diff", "dev", "prod"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("aws:ec2/natGateway:NatGateway") and line.split()[-2:] == ["1", "3"]
        for line in lines
    )
    assert any("multiAz: dev=false prod=true" in line for line in lines)


def test_a_data_source_without_a_mock_stops_the_plan():
    import pulumi
    import pytest

    from infra.offline.mocks import PlanMocks, UnmockedDataSourceError

    call = pulumi.runtime.MockCallArgs(token="aws:index/getAmi:getAmi", args={}, provider="")
    with pytest.raises(UnmockedDataSourceError, match="aws:index/getAmi:getAmi"):
        PlanMocks("eu-west-1").call(call)
