"""The pull-request preview role's rights: read the stack's configuration, never its data.

`pulumi preview` on a pull request runs code from an unmerged branch, so the role it holds
must not be able to change anything, nor read what the stack protects (objects, secret
values, decrypted data, images). It lists and describes, reads configuration of this
account's resources, and is denied every data read by name, whatever else grants it.
"""

from __future__ import annotations

from infra.foundation.iam_delegation import DeployScope
from infra.foundation.iam_documents import Document, allow, document

# Every service whose resources the program declares (the refresh reads their settings).
SERVICES = (
    "autoscaling",
    "ec2",
    "ecr",
    "eks",
    "elasticloadbalancing",
    "iam",
    "kms",
    "logs",
    "rds",
    "route53",
    "s3",
    "secretsmanager",
    "sqs",
)
# Reads of content rather than configuration: denied explicitly, so that no Get* below,
# nor a policy attached later, can hand a pull request the data behind the stack.
DATA_READS = (
    "ec2:GetConsoleOutput",
    "ec2:GetConsoleScreenshot",
    "ec2:GetPasswordData",
    "ecr:BatchGetImage",
    "ecr:GetAuthorizationToken",
    "ecr:GetDownloadUrlForLayer",
    "kms:Decrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
    "logs:FilterLogEvents",
    "logs:GetLogEvents",
    "logs:GetQueryResults",
    "logs:StartQuery",
    "rds:DownloadCompleteDBLogFile",
    "rds:DownloadDBLogFilePortion",
    "rds-db:connect",
    "s3:GetObject*",
    "secretsmanager:GetSecretValue",
    "sqs:ReceiveMessage",
    "ssm:GetParameter*",
)


def preview_document(scope: DeployScope) -> Document:
    """Describe and list anywhere in the account; Get only this account's resources."""
    account = scope.account_id
    scoped_gets = [
        f"arn:aws:{service}:*:{account}:*"
        for service in SERVICES
        if service not in ("iam", "route53", "s3")
    ]
    return document(
        # Describe* and List* name and configure resources; most take no resource ARN.
        allow(
            [f"{s}:Describe*" for s in SERVICES] + [f"{s}:List*" for s in SERVICES],
            ["*"],
            Sid="DescribeAndList",
        ),
        allow(
            [f"{s}:Get*" for s in SERVICES],
            [
                *scoped_gets,
                f"arn:aws:iam::{account}:*",
                "arn:aws:route53:::hostedzone/*",
                f"arn:aws:s3:::{scope.prefix}-*",
            ],
            Sid="ConfigurationOfThisAccount",
        ),
        {
            "Sid": "NeverTheData",
            "Effect": "Deny",
            "Action": sorted(DATA_READS),
            "Resource": ["*"],
        },
    )
