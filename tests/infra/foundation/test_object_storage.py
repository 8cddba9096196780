"""Object storage: private, encrypted, versioned buckets with lifecycle rules; DR copies in prod."""

from __future__ import annotations

import pytest

from infra.foundation.object_storage import PURPOSES, lifecycle_rules
from infra.stack_file import STACKS

SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


def test_only_backups_move_to_glacier():
    for purpose in PURPOSES:
        ids = {r["id"] for r in lifecycle_rules(purpose, 30)}
        assert ("backups-to-glacier-ir" in ids) is (purpose == "backups")
        assert {"abort-incomplete-uploads", "expire-noncurrent-versions"} <= ids


@pytest.mark.parametrize("stack", STACKS)
def test_buckets_are_private_encrypted_and_replicated_in_prod(plans, stack):
    plan = plans[stack]
    buckets = plan.of_type("aws:s3/bucket:Bucket")
    replicas = [b for b in buckets if "-replica-" in b.inputs["bucket"]]
    assert len(buckets) - len(replicas) == 3
    assert len(replicas) == (3 if stack == "prod" else 0)
    assert all(b.inputs["region"] == "eu-central-1" for b in replicas)
    blocks = plan.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert len(blocks) == len(buckets)
    for block in blocks:
        flags = (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
        assert all(block.inputs[k] is True for k in flags)
    for encryption in plan.of_type(SSE):
        default = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"]
    rules = plan.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert len(rules) == (3 if stack == "prod" else 0)


@pytest.mark.parametrize(("stack", "days"), [("dev", 30), ("prod", 365)])
def test_old_versions_are_kept_as_the_config_says(plans, stack, days):
    for config in plans[stack].of_type(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    ):
        (expire,) = [r for r in config.inputs["rules"] if r["id"] == "expire-noncurrent-versions"]
        assert expire["noncurrentVersionExpiration"] == {"noncurrentDays": days}
