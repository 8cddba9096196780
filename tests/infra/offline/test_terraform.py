"""The Terraform-shaped plan: every AWS type named as Terraform does, references connected."""

from __future__ import annotations

import pytest

from infra.offline.terraform import snake, to_terraform_plan, untranslated_types
from infra.stack_file import STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_every_aws_resource_is_exported(plans, stack):
    plan = plans[stack]
    assert untranslated_types(plan) == set()
    exported = to_terraform_plan(plan)
    aws = [r for r in plan.resources if r.type.startswith("aws:")]
    assert len(exported["planned_values"]["root_module"]["resources"]) == len(aws)
    assert len(exported["resource_changes"]) == len(aws)


def test_inputs_are_snake_case_blocks_are_lists_and_tags_stay_maps(plans):
    exported = to_terraform_plan(plans["prod"])
    (rds,) = [
        r
        for r in exported["planned_values"]["root_module"]["resources"]
        if r["type"] == "aws_db_instance"
    ]
    values = rds["values"]
    assert values["multi_az"] is True and values["manage_master_user_password"] is True
    assert values["tags"]["environment"] == "prod"
    (sse,) = [
        r["values"]
        for r in exported["planned_values"]["root_module"]["resources"]
        if r["name"] == "mlsys-prod-storage-datasets-encryption"
    ]
    assert (
        sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    )
    assert snake("kmsMasterKeyId") == "kms_master_key_id" and snake("rules") == "rule"


def test_a_bucket_and_its_separate_configuration_are_connected(plans):
    """What checkov's graph checks (CKV2_AWS_6, CKV_AWS_21, ...) follow."""
    exported = to_terraform_plan(plans["prod"])
    configured = {r["name"]: r for r in exported["configuration"]["root_module"]["resources"]}
    planned = {r["name"]: r for r in exported["planned_values"]["root_module"]["resources"]}
    bucket = "aws_s3_bucket.mlsys-prod-storage-datasets"
    for config in ("versioning", "public-access", "encryption", "access-logging", "tls-only"):
        name = f"mlsys-prod-storage-datasets-{config}"
        assert configured[name]["expressions"]["bucket"]["references"] == [f"{bucket}.id", bucket]
        assert planned[name]["values"]["bucket"] is None  # unknown until apply, as in Terraform
    logging = configured["mlsys-prod-storage-datasets-access-logging"]["expressions"]
    assert (
        logging["target_bucket"]["references"][1] == "aws_s3_bucket.mlsys-prod-storage-access-logs"
    )
    rds = configured["mlsys-prod-db-postgres"]["expressions"]
    assert rds["kms_key_id"]["references"][1] == "aws_kms_key.mlsys-prod-db-key"
