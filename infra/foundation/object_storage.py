"""Object storage: encrypted, versioned, private buckets; replicated to a DR region in prod."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.foundation.iam_documents import replication, service_trust, tls_only_bucket_policy
from infra.foundation.kms import customer_key
from infra.renames import with_former_type

PURPOSES = ("mlflow-artifacts", "datasets", "backups")


@dataclass(frozen=True, kw_only=True)
class ObjectStorageArgs:
    prefix: str  # e.g. "mlsys-prod"
    account_id: str
    region: str
    dr_region: str | None
    noncurrent_version_days: int
    tags: dict[str, str]


def lifecycle_rules(purpose: str, noncurrent_days: int) -> list[Any]:
    """Old versions expire, failed uploads are cleaned up, backups move to cheaper storage."""
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
    if purpose == "backups":
        rules.append(
            {
                "id": "backups-to-glacier-ir",
                "status": "Enabled",
                "filter": {},
                "transitions": [{"days": 30, "storage_class": "GLACIER_IR"}],
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
        )
        self.key_arn = self.key.arn
        # Replication must wait for versioning on both sides, so keep them by bucket.
        self._versioning: dict[str, aws.s3.BucketVersioning] = {}
        self.buckets = {p: self._bucket(p, args.region, self.key) for p in PURPOSES}
        self.bucket_names = {p: b.bucket for p, b in self.buckets.items()}
        self.bucket_arns = {p: b.arn for p, b in self.buckets.items()}
        if args.dr_region:
            self._replicate(args.dr_region)
        self.register_outputs({"bucket_names": self.bucket_names, "key_arn": self.key_arn})

    def _bucket(
        self, purpose: str, region: str, key: aws.kms.Key, suffix: str = ""
    ) -> aws.s3.Bucket:
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
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            region=region,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=opts,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            region=region,
            policy=bucket.arn.apply(lambda arn: json.dumps(tls_only_bucket_policy(arn))),
            opts=pulumi.ResourceOptions(parent=bucket, depends_on=[block]),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            region=region,
            rules=lifecycle_rules(purpose, args.noncurrent_version_days),
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
            region=dr_region,
        )
        role = aws.iam.Role(
            f"{self._name}-replication-role",
            assume_role_policy=json.dumps(service_trust("s3.amazonaws.com")),
            tags=self._args.tags,
            opts=self._child,
        )
        for purpose, source in self.buckets.items():
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
