"""IAM policy documents as plain dicts: every statement scoped to ARNs unless AWS forbids it."""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]


def document(*statements: dict[str, Any]) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources, **extra}


def service_trust(*services: str) -> Document:
    return document(
        {"Effect": "Allow", "Principal": {"Service": list(services)}, "Action": "sts:AssumeRole"}
    )


def pod_identity_trust(
    account_id: str, cluster_arn: str, namespace: str, service_account: str
) -> Document:
    """EKS Pod Identity for one service account of one cluster in this account only.

    The source conditions stop another account's or cluster's EKS from being a confused
    deputy; the session tags EKS sets pin the namespace and service account.
    """
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:SourceAccount": account_id,
                    "aws:RequestTag/kubernetes-namespace": namespace,
                    "aws:RequestTag/kubernetes-service-account": service_account,
                },
                "ArnEquals": {"aws:SourceArn": cluster_arn},
            },
        }
    )


def rds_connect(region: str, account: str, resource_id: str, user: str) -> dict[str, Any]:
    """IAM database authentication as one database user of one instance."""
    return allow(
        ["rds-db:connect"], [f"arn:aws:rds-db:{region}:{account}:dbuser:{resource_id}/{user}"]
    )


def dns01_challenges(zone_id: str) -> Document:
    """cert-manager's DNS-01 solver: ACME TXT records in one hosted zone, nothing else.

    The zone id is given to the solver, so it never needs to list zones (a "*" call).
    """
    return document(
        allow(
            ["route53:ChangeResourceRecordSets"],
            [f"arn:aws:route53:::hostedzone/{zone_id}"],
            Condition={
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]
                },
                "ForAllValues:StringLike": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"]
                },
            },
        ),
        allow(["route53:ListResourceRecordSets"], [f"arn:aws:route53:::hostedzone/{zone_id}"]),
        allow(["route53:GetChange"], ["arn:aws:route53:::change/*"]),
    )


def secret_read(secret_arn: str, key_arn: str) -> Document:
    return document(
        allow(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], [secret_arn]),
        allow(["kms:Decrypt"], [key_arn]),
    )


def github_oidc_trust(provider_arn: str, repository: str, environment: str) -> Document:
    """Only workflows of ``repository`` running in GitHub environment ``environment``."""
    return _github_trust(provider_arn, f"repo:{repository}:environment:{environment}")


def github_pull_request_trust(provider_arn: str, repository: str) -> Document:
    """Only pull-request workflows of ``repository`` (GitHub gives forks no token)."""
    return _github_trust(provider_arn, f"repo:{repository}:pull_request")


def _github_trust(provider_arn: str, subject: str) -> Document:
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": subject,
                }
            },
        }
    )


def bucket_read(bucket_arn: str, key_arn: str, prefix: str = "*") -> list[dict[str, Any]]:
    return [
        allow(["s3:ListBucket", "s3:GetBucketLocation"], [bucket_arn]),
        allow(["s3:GetObject", "s3:GetObjectVersion"], [f"{bucket_arn}/{prefix}"]),
        allow(["kms:Decrypt", "kms:DescribeKey"], [key_arn]),
    ]


def bucket_write(bucket_arn: str, key_arn: str, prefix: str = "*") -> list[dict[str, Any]]:
    return [
        allow(["s3:ListBucket", "s3:GetBucketLocation"], [bucket_arn]),
        allow(
            [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ],
            [f"{bucket_arn}/{prefix}"],
        ),
        allow(
            [
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:ReEncrypt*",
            ],
            [key_arn],
        ),
    ]


def tls_only_bucket_policy(bucket_arn: str) -> Document:
    """Deny any request that does not use TLS (AWS's recommended bucket guardrail)."""
    return document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


def access_log_bucket_policy(bucket_arn: str, account_id: str, prefix: str) -> Document:
    """TLS only, and S3's log delivery may write for this stack's buckets in this account."""
    tls = tls_only_bucket_policy(bucket_arn)["Statement"]
    return document(
        *tls,
        {
            "Sid": "S3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{prefix}-*"},
            },
        },
    )


def velero(bucket_arn: str, key_arn: str, region: str, account: str) -> Document:
    # Describe* calls take no resource ARNs: AWS requires "*" there, and only there.
    # Snapshot and volume calls are held to this account's and region's ARNs.
    return document(
        *bucket_write(bucket_arn, key_arn),
        allow(["ec2:DescribeVolumes", "ec2:DescribeSnapshots"], ["*"]),
        allow(
            ["ec2:CreateSnapshot", "ec2:CreateTags", "ec2:CreateVolume", "ec2:DeleteSnapshot"],
            [
                f"arn:aws:ec2:{region}:{account}:volume/*",
                f"arn:aws:ec2:{region}::snapshot/*",
            ],
        ),
    )


def kms_use(key_arn: str) -> Document:
    return document(allow(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], [key_arn]))


def replication(source_arn: str, source_key: str, target_arn: str, target_key: str) -> Document:
    return document(
        allow(["s3:GetReplicationConfiguration", "s3:ListBucket"], [source_arn]),
        allow(
            [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
                # Locked backups replicate with their retention (AWS requires both reads).
                "s3:GetObjectRetention",
                "s3:GetObjectLegalHold",
            ],
            [f"{source_arn}/*"],
        ),
        allow(
            ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], [f"{target_arn}/*"]
        ),
        allow(["kms:Decrypt"], [source_key]),
        allow(["kms:Encrypt", "kms:GenerateDataKey"], [target_key]),
    )
