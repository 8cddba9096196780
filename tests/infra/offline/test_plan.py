"""The offline plan: what a real run would send, whole numbers as integers, in any region."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.offline.plan import SECRET, Plan, mask, run_plan, to_json
from infra.stack_file import REPO_ROOT, STACKS


def _floats(value: Any, path: str = "") -> list[str]:
    """Paths of every float in ``value``: the program declares none, so each is a regression."""
    if isinstance(value, float):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _floats(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _floats(v, f"{path}[{i}]")]
    return []


@pytest.mark.parametrize("stack", STACKS)
def test_whole_numbers_stay_integers_in_inputs_and_outputs(plans, stack):
    plan = plans[stack]
    assert _floats(to_json(plan)) == []
    assert plan.outputs["databaseEndpoint"].endswith(".rds.amazonaws.com:5432")
    job = plan.named(f"mlsys-{stack}-db-bootstrap-create-databases").inputs["spec"]
    assert job["backoffLimit"] == 6 and type(job["backoffLimit"]) is int
    assert type(job["template"]["spec"]["securityContext"]["runAsUser"]) is int


def test_secrets_are_masked_wherever_they_sit():
    marker = "4dabf18193072939515e22adb298388d"  # Pulumi's wire signature for a secret
    secret = {marker: "1b47061264138c4ac30d75fd1eb44270", "value": "pw"}
    assert mask({"a": [secret], "b": "open"}) == {"a": [SECRET], "b": "open"}


def test_one_and_named_refuse_ambiguity(plans):
    plan = plans["dev"]
    with pytest.raises(LookupError, match="expected one aws:ec2/subnet:Subnet"):
        plan.one("aws:ec2/subnet:Subnet")
    with pytest.raises(LookupError, match="no-such-resource"):
        plan.named("no-such-resource")


def test_a_stack_in_another_region_gets_that_regions_zones(tmp_path: Path):
    document = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["aws:region"] = "us-east-1"
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(document))
    plan: Plan = run_plan("dev", root=tmp_path)
    zones = {s.inputs["availabilityZone"] for s in plan.of_type("aws:ec2/subnet:Subnet")}
    assert zones == {"us-east-1a", "us-east-1b", "us-east-1c"}
    assert plan.outputs["region"] == "us-east-1"
    assert ".us-east-1.rds.amazonaws.com:5432" in plan.outputs["databaseEndpoint"]
    endpoint = plan.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
