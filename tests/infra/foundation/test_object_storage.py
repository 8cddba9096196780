"""Object storage: private, encrypted, versioned buckets with lifecycle rules; DR copies in prod."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.foundation.object_storage import PURPOSES, lifecycle_rules
from infra.stack_file import STACKS

SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


def test_only_backups_move_to_glacier_and_expire_their_dumps():
    for purpose in PURPOSES:
        ids = {r["id"] for r in lifecycle_rules(purpose, 30, 14)}
        assert ("backups-to-glacier-ir" in ids) is (purpose == "backups")
        assert ("expire-database-dumps" in ids) is (purpose == "backups")
        assert {"abort-incomplete-uploads", "expire-noncurrent-versions"} <= ids
    with pytest.raises(ValueError, match="retention for its database dumps"):
        lifecycle_rules("backups", 30)


@pytest.mark.parametrize(("stack", "days"), [("dev", 7), ("staging", 14), ("prod", 30)])
def test_database_dumps_expire_after_the_backup_retention(plans, stack, days):
    expiring = [
        rule
        for config in plans[stack].of_type(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        )
        for rule in config.inputs["rules"]
        if rule["id"] == "expire-database-dumps"
    ]
    assert len(expiring) == (2 if stack == "prod" else 1)  # prod: its DR replica as well
    for dumps in expiring:
        # The prefix pg_backup.sh writes to, and backupRetentionDays of the stack file.
        assert dumps["filter"] == {"prefix": "postgres/"}
        assert dumps["expiration"] == {"days": days}
    script = Path("infra/platform/operations/backup/pg_backup.sh").read_text()
    assert 'key="postgres/$PGDATABASE/' in script


@pytest.mark.parametrize("stack", STACKS)
def test_buckets_are_private_encrypted_and_replicated_in_prod(plans, stack):
    plan = plans[stack]
    all_buckets = plan.of_type("aws:s3/bucket:Bucket")
    buckets = [b for b in all_buckets if "-access-logs" not in b.inputs["bucket"]]
    replicas = [b for b in buckets if "-replica-" in b.inputs["bucket"]]
    assert len(buckets) - len(replicas) == 3
    assert len(replicas) == (3 if stack == "prod" else 0)
    assert all(b.inputs["region"] == "eu-central-1" for b in replicas)
    blocks = plan.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert len(blocks) == len(all_buckets)
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
        if "-access-logs" in encryption.name:  # S3 delivers logs only to SSE-S3 buckets
            assert default == {"sseAlgorithm": "AES256"}
        else:
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


@pytest.mark.parametrize("stack", STACKS)
def test_every_data_bucket_logs_access_to_its_regions_log_bucket(plans, stack):
    plan = plans[stack]
    names = {b.name: b.inputs for b in plan.of_type("aws:s3/bucket:Bucket")}
    logs = {n: i for n, i in names.items() if "-access-logs" in n}
    assert len(logs) == (2 if stack == "prod" else 1)  # S3 logs only within a region
    logging = plan.of_type("aws:s3/bucketLogging:BucketLogging")
    assert len(logging) == len(names) - len(logs)
    region_of = {i["bucket"]: i["region"] for i in names.values()}
    for config in logging:
        assert config.inputs["targetBucket"] in {i["bucket"] for i in logs.values()}
        assert region_of[config.inputs["targetBucket"]] == region_of[config.inputs["bucket"]]


@pytest.mark.parametrize(("stack", "locked"), [("dev", 0), ("staging", 0), ("prod", 2)])
def test_backups_are_locked_in_governance_mode_in_prod(plans, stack, locked):
    locks = plans[stack].of_type(
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
    )
    assert len(locks) == locked  # the backups bucket and its DR replica
    for lock in locks:
        assert "-backups" in lock.inputs["bucket"]
        assert lock.inputs["rule"]["defaultRetention"] == {"mode": "GOVERNANCE", "days": 30}
