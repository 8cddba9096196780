"""Guardrails: each rule passes good examples, fails bad ones, and every stack passes."""

from __future__ import annotations

import json

import pytest

from infra.offline.plan import Plan
from infra.policy.rules import (
    PlannedResource,
    buckets_fully_guarded,
    check_all,
    encrypted_storage,
    no_public_bucket,
    no_public_database,
    no_star_resources,
    production_database,
    required_tags,
    tls_only_buckets,
)
from infra.stack_file import STACKS

TAGS = {"project": "mlsys", "environment": "prod", "owner": "ml", "cost-center": "cc1"}
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


def planned(plan: Plan) -> list[PlannedResource]:
    return [PlannedResource(r.type, r.name, r.inputs) for r in plan.resources]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_passes_every_guardrail(plans, stack):
    assert check_all(planned(plans[stack])) == []


def test_rules_really_see_the_plan(plans):
    """A deliberately broken copy of prod is refused, rule by rule."""
    broken = []
    for r in planned(plans["prod"]):
        props = dict(r.props)
        if r.type == "aws:rds/instance:Instance":
            props.update(publiclyAccessible=True, multiAz=False, storageEncrypted=False)
        if r.type == "aws:s3/bucketPolicy:BucketPolicy":
            continue
        if r.type == "aws:iam/rolePolicy:RolePolicy" and r.name.endswith("serving-policy"):
            props["policy"] = json.dumps(
                {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}
            )
        if r.type == "aws:ecr/repository:Repository":
            props["tags"] = {"project": "mlsys"}
        broken.append(PlannedResource(r.type, r.name, props))
    found = "\n".join(check_all(broken))
    for expected in (
        "no-public-database",
        "production-database: mlsys-prod-db-postgres: prod RDS needs multiAz",
        "encrypted-storage: mlsys-prod-db-postgres",
        "tls-only-buckets: bucket mlsys-prod-datasets-",
        "no-star-resources",
        "required-tags: mlsys-prod-ecr-app: missing required tag(s): environment, "
        "owner, cost-center",
    ):
        assert expected in found


@pytest.mark.parametrize(
    ("typ", "props", "violations"),
    [
        (
            SSE,
            {
                "rules": [
                    {
                        "applyServerSideEncryptionByDefault": {
                            "sseAlgorithm": "aws:kms",
                            "kmsMasterKeyId": "arn:k",
                        }
                    }
                ]
            },
            0,
        ),
        (SSE, {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}, 1),
        (SSE, {"rules": []}, 1),
        ("aws:rds/instance:Instance", {"storageEncrypted": True}, 0),
        ("aws:rds/instance:Instance", {"storageEncrypted": False}, 1),
        ("aws:ebs/volume:Volume", {"encrypted": False}, 1),
        (
            "aws:ec2/launchTemplate:LaunchTemplate",
            {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
            1,
        ),
        ("aws:eks/cluster:Cluster", {"encryptionConfig": {"resources": ["secrets"]}}, 0),
        ("aws:eks/cluster:Cluster", {}, 1),
    ],
)
def test_encrypted_storage(typ, props, violations):
    assert len(encrypted_storage(typ, props)) == violations


def test_public_database_and_buckets():
    assert no_public_database("aws:rds/instance:Instance", {"publiclyAccessible": False}) == []
    assert no_public_database("aws:rds/instance:Instance", {"publiclyAccessible": True})
    good = dict.fromkeys(
        ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
    )
    typ = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    assert no_public_bucket(typ, good) == []
    assert (
        "restrictPublicBuckets"
        in no_public_bucket(typ, {**good, "restrictPublicBuckets": False})[0]
    )


def test_required_tags():
    assert required_tags("aws:ec2/vpc:Vpc", {"tags": TAGS}) == []
    assert required_tags("aws:ec2/vpc:Vpc", {"tags": {"project": "x"}}) == [
        "missing required tag(s): environment, owner, cost-center"
    ]
    assert required_tags("aws:iam/rolePolicy:RolePolicy", {}) == []  # not taggable


def test_production_database():
    typ = "aws:rds/instance:Instance"
    safe = {"tags": TAGS, "deletionProtection": True, "multiAz": True, "backupRetentionPeriod": 14}
    assert production_database(typ, safe) == []
    assert (
        len(production_database(typ, {**safe, "backupRetentionPeriod": 7, "multiAz": False})) == 2
    )
    dev = {**safe, "tags": {**TAGS, "environment": "dev"}, "multiAz": False}
    assert production_database(typ, dev) == []


@pytest.mark.parametrize(
    ("statement", "ok"),
    [
        ({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}, True),
        ({"Effect": "Allow", "Action": ["ec2:DescribeVolumes"], "Resource": ["*"]}, True),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, False),
        ({"Effect": "Allow", "Action": "*", "Resource": ["arn:aws:s3:::b"]}, False),
        ({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}, True),
    ],
)
def test_no_star_resources(statement, ok):
    props = {"policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}
    assert (no_star_resources("aws:iam/rolePolicy:RolePolicy", props) == []) is ok


def test_bucket_stack_rules():
    bucket = PlannedResource("aws:s3/bucket:Bucket", "b", {"bucket": "b1"})
    tls = PlannedResource(
        "aws:s3/bucketPolicy:BucketPolicy",
        "p",
        {
            "bucket": "b1",
            "policy": json.dumps(
                {
                    "Statement": [
                        {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                    ]
                }
            ),
        },
    )
    assert tls_only_buckets([bucket, tls]) == []
    assert tls_only_buckets([bucket]) == ["bucket b1 has no bucket policy denying non-TLS requests"]
    assert len(buckets_fully_guarded([bucket])) == 3
