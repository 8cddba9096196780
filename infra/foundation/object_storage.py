"""Object storage: encrypted, versioned, private, logged buckets; replicated and locked in prod."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from infra.foundation.iam_documents import (
    access_log_bucket_policy,
    replication,
    service_trust,
    tls_only_bucket_policy,
)
from infra.foundation.kms import KeyAdmins, customer_key
from infra.renames import with_former_type

PURPOSES = ("mlflow-artifacts", "datasets", "backups")
ACCESS_LOGS = "access-logs"


@dataclass(frozen=True, kw_only=True)
class ObjectStorageArgs:
    prefix: str  # e.g. "mlsys-prod"
    account_id: str
    region: str
    dr_region: str | None
    noncurrent_version_days: int
    backup_lock_days: int | None  # S3 Object Lock (governance) on backups; prod sets it
    # Hourly database dumps under postgres/ stop being current after this many days (then
    # kept as old versions for noncurrent_version_days); backupRetentionDays, which the
    # config keeps at least backupLockDays.
    dump_retention_days: int
    key_admins: KeyAdmins
    boundary_arn: pulumi.Input[str]
    tags: dict[str, str]


def lifecycle_rules(
    purpose: str, noncurrent_days: int, dump_retention_days: int | None = None
) -> list[Any]:
    """Old versions expire, failed uploads are cleaned up, backups move to cheaper storage,
    database dumps expire, access logs are kept as long as old versions of what they
    describe."""
    rules: list[Any] = [
        {
            "id": "abort-incomplete-uploads",
            "status": "Enabled",
            "filter": {},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        },
        {
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": {},
            "noncurrent_version_expiration": {"noncurrent_days": noncurrent_days},
        },
    ]
    if purpose == ACCESS_LOGS:
        rules.append(
            {
                "id": "expire-access-logs",
                "status": "Enabled",
                "filter": {},
                "expiration": {"days": noncurrent_days},
            }
        )
    if purpose == "backups":
        rules.append(
            {
                "id": "backups-to-glacier-ir",
                "status": "Enabled",
                "filter": {},
                "transitions": [{"days": 30, "storage_class": "GLACIER_IR"}],
            }
        )
        if dump_retention_days is None:
            raise ValueError("the backups bucket needs a retention for its database dumps")
        # 24 dumps a day would otherwise pile up for ever. Expiring makes a dump an old
        # version (a delete marker on top), which Object Lock still holds for its days.
        rules.append(
            {
                "id": "expire-database-dumps",
                "status": "Enabled",
                "filter": {"prefix": "postgres/"},
                "expiration": {"days": dump_retention_days},
            }
        )
    return rules


class ObjectStorage(pulumi.ComponentResource):
    bucket_names: dict[str, pulumi.Output[str]]
    bucket_arns: dict[str, pulumi.Output[str]]
    key_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ObjectStorageArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(
            "mlsys:foundation:ObjectStorage",
            name,
            None,
            with_former_type("mlsys:storage:ObjectStorage", opts),
        )
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self.key = customer_key(
            f"{name}-key",
            f"{args.prefix} S3 objects",
            args.tags,
            self._child,
            admins=args.key_admins,
        )
        self.key_arn = self.key.arn
        # Replication must wait for versioning on both sides, so keep them by bucket.
        self._versioning: dict[str, aws.s3.BucketVersioning] = {}
        # S3 delivers access logs only to a bucket in the same region: one per region.
        self._log_buckets: dict[str, aws.s3.Bucket] = {}
        self.buckets = {p: self._bucket(p, args.region, self.key) for p in PURPOSES}
        self.bucket_names = {p: b.bucket for p, b in self.buckets.items()}
        self.bucket_arns = {p: b.arn for p, b in self.buckets.items()}
        if args.dr_region:
            self._replicate(args.dr_region)
        self.register_outputs({"bucket_names": self.bucket_names, "key_arn": self.key_arn})

    def _log_bucket(self, region: str) -> aws.s3.Bucket:
        if region not in self._log_buckets:
            suffix = "" if region == self._args.region else "-dr"
            self._log_buckets[region] = self._bucket(ACCESS_LOGS, region, None, suffix)
        return self._log_buckets[region]

    def _bucket(
        self, purpose: str, region: str, key: aws.kms.Key | None, suffix: str = ""
    ) -> aws.s3.Bucket:
        """``key`` None: SSE-S3, for the access-log bucket (S3 cannot deliver logs to SSE-KMS)."""
        args = self._args
        name = f"{self._name}-{purpose}{suffix}"
        # Account and region make the name globally unique and predictable for other teams.
        bucket = aws.s3.Bucket(
            name,
            bucket=f"{args.prefix}-{purpose}{suffix}-{args.account_id}-{region}",
            region=region,
            force_destroy=False,
            tags={**args.tags, "purpose": purpose},
            opts=self._child,
        )
        opts = pulumi.ResourceOptions(parent=bucket)
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            region=region,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=opts,
        )
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            region=region,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            region=region,
            versioning_configuration={"status": "Enabled"},
            opts=opts,
        )
        default: dict[str, Any] = (
            {"sse_algorithm": "AES256"}
            if key is None
            else {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn}
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            region=region,
            rules=[
                cast(
                    Any,
                    {
                        "apply_server_side_encryption_by_default": default,
                        "bucket_key_enabled": True,
                    },
                )
            ],
            opts=opts,
        )
        if key is None:
            account, prefix = args.account_id, args.prefix
            policy = bucket.arn.apply(
                lambda arn: json.dumps(access_log_bucket_policy(arn, account, prefix))
            )
        else:
            policy = bucket.arn.apply(lambda arn: json.dumps(tls_only_bucket_policy(arn)))
            aws.s3.BucketLogging(
                f"{name}-access-logging",
                bucket=bucket.id,
                region=region,
                target_bucket=self._log_bucket(region).id,
                target_prefix=f"{purpose}{suffix}/",
                opts=opts,
            )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            region=region,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=bucket, depends_on=[block]),
        )
        if purpose == "backups" and args.backup_lock_days:
            # Governance mode: nobody deletes a backup early without the explicit bypass right.
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=bucket.id,
                region=region,
                object_lock_enabled="Enabled",
                rule={"default_retention": {"mode": "GOVERNANCE", "days": args.backup_lock_days}},
                opts=pulumi.ResourceOptions(parent=bucket, depends_on=[versioning]),
            )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            region=region,
            rules=lifecycle_rules(purpose, args.noncurrent_version_days, args.dump_retention_days),
            opts=pulumi.ResourceOptions(parent=bucket, depends_on=[versioning]),
        )
        self._versioning[f"{purpose}{suffix}"] = versioning
        return bucket

    def _replicate(self, dr_region: str) -> None:
        """Prod survives a regional outage: every bucket copies to a twin in the DR region."""
        dr_key = customer_key(
            f"{self._name}-dr-key",
            f"{self._args.prefix} S3 DR",
            self._args.tags,
            self._child,
            admins=self._args.key_admins,
            region=dr_region,
        )
        role = aws.iam.Role(
            f"{self._name}-replication-role",
            assume_role_policy=json.dumps(service_trust("s3.amazonaws.com")),
            permissions_boundary=self._args.boundary_arn,
            tags=self._args.tags,
            opts=self._child,
        )
        for purpose, source in list(self.buckets.items()):
            replica = self._bucket(purpose, dr_region, dr_key, suffix="-replica")
            aws.iam.RolePolicy(
                f"{self._name}-{purpose}-replication-policy",
                role=role.id,
                policy=pulumi.Output.all(source.arn, self.key.arn, replica.arn, dr_key.arn).apply(
                    lambda a: json.dumps(replication(a[0], a[1], a[2], a[3]))
                ),
                opts=self._child,
            )
            aws.s3.BucketReplicationConfig(
                f"{self._name}-{purpose}-replication",
                bucket=source.id,
                role=role.arn,
                rules=[
                    {
                        "id": "to-dr-region",
                        "status": "Enabled",
                        "filter": {},
                        "delete_marker_replication": {"status": "Enabled"},
                        "source_selection_criteria": {
                            "sse_kms_encrypted_objects": {"status": "Enabled"}
                        },
                        "destination": {
                            "bucket": replica.arn,
                            "storage_class": "STANDARD_IA",
                            "encryption_configuration": {"replica_kms_key_id": dr_key.arn},
                        },
                    }
                ],
                opts=pulumi.ResourceOptions(
                    parent=source,
                    depends_on=[self._versioning[purpose], self._versioning[f"{purpose}-replica"]],
                ),
            )
