"""`make plan` and `make plan-diff` as reviewers run them, over the session's plans."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from infra.offline import __main__ as offline_cli
from infra.platform.charts import CHARTS, GATEWAY_API_CRDS

runner = CliRunner()


@pytest.fixture(name="cli")
def _cli(plans, monkeypatch):
    """The CLI, reading the session's plans instead of running the program again."""
    monkeypatch.setattr(offline_cli, "run_plan", lambda stack: plans[stack])
    return offline_cli.cli


def test_plan_writes_resources_and_manifests(cli, plans, tmp_path):
    result = runner.invoke(cli, ["plan", "--stack", "staging", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "aws:eks/cluster:Cluster" in result.stdout and "total" in result.stdout
    data = json.loads((tmp_path / "staging" / "resources.json").read_text())
    assert data["stack"] == "staging" and len(data["resources"]) == len(plans["staging"].resources)
    assert data["outputs"]["databaseEndpoint"].endswith(":5432")
    manifests = {
        p.name: yaml.safe_load(p.read_text())
        for p in (tmp_path / "staging" / "manifests").glob("*.yaml")
    }
    assert set(manifests) >= {
        "_cluster--storageclass--gp3.yaml",
        "_cluster--namespace--platform-db.yaml",
        "platform-db--job--create-databases.yaml",
        "platform-db--networkpolicy--create-databases.yaml",
        "platform-db--securitygrouppolicy--database-clients.yaml",
        "platform-db--serviceaccount--db-bootstrap.yaml",
        "gateway--gateway--public.yaml",
        "serving--ratelimitpolicy--prediction-api.yaml",
        "monitoring--prometheusrule--mlsys-slo.yaml",
    }
    # Helm releases and remote YAML are listed in releases.yaml, never as manifests.
    assert not [name for name in manifests if "--release--" in name or "configfile" in name]
    document = yaml.safe_load((tmp_path / "staging" / "releases.yaml").read_text())
    releases = document["releases"]
    # Every chart of the pinned table is released, at its pinned version, with values.
    released = {(r["chart"].rsplit("/", 1)[-1], r["version"]) for r in releases}
    assert released == {(chart.name, chart.version) for chart in CHARTS.values()}
    assert all(r["values"] for r in releases)
    # The Gateway API CRDs come as one pinned release manifest, listed with the charts.
    assert [r["file"] for r in document["remote_manifests"]] == [GATEWAY_API_CRDS]
    tfplan = json.loads((tmp_path / "staging" / "tfplan.json").read_text())
    assert tfplan["resource_changes"][0]["change"]["actions"] == ["create"]
    assert manifests["_cluster--storageclass--gp3.yaml"]["apiVersion"] == "storage.k8s.io/v1"
    job = manifests["platform-db--job--create-databases.yaml"]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert job["spec"]["backoffLimit"] == 6


def test_a_second_plan_replaces_old_manifests(cli, tmp_path):
    stale = tmp_path / "dev" / "manifests" / "gone--job--old.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    assert runner.invoke(cli, ["plan", "--stack", "dev", "--out", str(tmp_path)]).exit_code == 0
    assert not stale.exists()


def test_unknown_stack_is_refused(cli):
    result = runner.invoke(cli, ["plan", "--stack", "qa"])
    assert result.exit_code != 0 and "unknown stack 'qa'" in result.output


def test_diff_shows_what_differs_between_stacks(cli):
    result = runner.invoke(cli, ["diff", "dev", "prod"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("aws:ec2/natGateway:NatGateway") and line.split()[-2:] == ["1", "3"]
        for line in lines
    )
    assert "Instance db-postgres.multiAz: dev=false prod=true" in lines
    assert "Instance db-postgres.backupRetentionPeriod: dev=3 prod=30" in lines
