"""The CI deploy role's rights: delegated IAM administration and this stack's own resources only."""

from __future__ import annotations

from typing import Any

from infra.foundation.iam_delegation import (
    AWS_MANAGED_POLICIES as AWS_MANAGED_POLICIES,
)
from infra.foundation.iam_delegation import EC2_DESCRIBE as EC2_DESCRIBE
from infra.foundation.iam_delegation import DeployScope as DeployScope
from infra.foundation.iam_delegation import iam_administration as iam_administration
from infra.foundation.iam_delegation import role_boundary as role_boundary
from infra.foundation.iam_documents import Document, allow, document


def _tagged(scope: DeployScope, key: str) -> dict[str, Any]:
    return {"StringEquals": {f"aws:{key}/environment": scope.environment}}


def network_and_cluster(scope: DeployScope) -> Document:
    """EC2 by the environment tag (created tagged, changed only if tagged), EKS by name."""
    creates = [
        "ec2:AllocateAddress",
        "ec2:CreateFlowLogs",
        "ec2:CreateInternetGateway",
        "ec2:CreateLaunchTemplate",
        "ec2:CreateNatGateway",
        "ec2:CreateRouteTable",
        "ec2:CreateSecurityGroup",
        "ec2:CreateSubnet",
        "ec2:CreateVpc",
        "ec2:CreateVpcEndpoint",
    ]
    cluster = scope.prefix
    return document(
        allow(creates, ["*"], Sid="CreateOnlyTagged", Condition=_tagged(scope, "RequestTag")),
        allow(
            ["ec2:CreateTags"],
            ["*"],
            Sid="TagWhileCreating",
            Condition={
                "StringEquals": {
                    "aws:RequestTag/environment": scope.environment,
                    "ec2:CreateAction": creates,
                },
            },
        ),
        allow(
            [
                "ec2:Associate*",
                "ec2:Attach*",
                "ec2:AuthorizeSecurityGroup*",
                "ec2:CreateLaunchTemplateVersion",
                "ec2:CreateRoute",
                "ec2:CreateTags",
                "ec2:Delete*",
                "ec2:DescribeVpcAttribute",
                "ec2:Detach*",
                "ec2:Disassociate*",
                "ec2:Modify*",
                "ec2:ReleaseAddress",
                "ec2:ReplaceRoute",
                "ec2:RevokeSecurityGroup*",
                "ec2:RunInstances",
            ],
            ["*"],
            Sid="ChangeOnlyThisEnvironment",
            Condition=_tagged(scope, "ResourceTag"),
        ),
        allow(list(EC2_DESCRIBE), ["*"], Sid="DescribeTakesNoResource"),
        allow(
            ["eks:*"],
            scope.arns(
                "eks",
                f"cluster/{cluster}",
                f"nodegroup/{cluster}/*",
                f"addon/{cluster}/*",
                f"access-entry/{cluster}/*",
                f"podidentityassociation/{cluster}/*",
            ),
            Sid="ThisCluster",
        ),
        allow(
            ["eks:DescribeAddonConfiguration", "eks:DescribeAddonVersions"],
            ["*"],
            Sid="AddonCatalogue",
        ),
        allow(
            ["logs:*"],
            scope.arns(
                "logs",
                f"log-group:{scope.prefix}-*",
                f"log-group:/aws/eks/{cluster}/*",
                f"log-group:/aws/rds/instance/{scope.prefix}-*",
            ),
            Sid="ThisStacksLogGroups",
        ),
        allow(["logs:DescribeLogGroups"], ["*"], Sid="ListLogGroups"),
        # Karpenter's interruption queue and the EventBridge rules feeding it, by name.
        allow(["sqs:*"], scope.arns("sqs", f"{cluster}-karpenter"), Sid="InterruptionQueue"),
        allow(
            ["events:*"],
            scope.arns("events", f"rule/{cluster}-karpenter-*"),
            Sid="InterruptionRules",
        ),
    )


def data_and_keys(scope: DeployScope) -> Document:
    """Buckets, database, images and keys of this stack: by name where AWS allows, else by tag."""
    p, a = scope.prefix, scope.account_id
    statements = [
        allow(
            [
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:DeleteBucket*",
                "s3:Get*Configuration",
                "s3:GetBucket*",
                "s3:ListBucket",
                "s3:Put*Configuration",
                "s3:PutBucket*",
            ],
            [f"arn:aws:s3:::{p}-*"],
            Sid="ThisStacksBuckets",
        ),
        allow(
            ["rds:*"],
            scope.arns("rds", f"db:{p}-*", f"subgrp:{p}-*", f"pg:{p}-*", f"snapshot:{p}-*"),
            Sid="ThisStacksDatabase",
        ),
        allow(
            ["rds:CreateDBInstance", "rds:ModifyDBInstance"],
            scope.arns("rds", "og:default:*"),
            Sid="DefaultOptionGroup",
        ),
        allow(
            ["secretsmanager:*"],
            scope.arns("secretsmanager", "secret:rds!db-*"),
            Sid="MasterSecretRdsManages",
            Condition={"ForAnyValue:StringEquals": {"aws:CalledVia": ["rds.amazonaws.com"]}},
        ),
        allow(["ecr:*"], scope.arns("ecr", f"repository/{p}-*"), Sid="ThisStacksRepositories"),
        allow(["ecr:GetAuthorizationToken"], ["*"], Sid="RegistryLogin"),
        allow(
            ["kms:CreateKey", "kms:TagResource"],
            ["*"],
            Sid="CreateOnlyTaggedKeys",
            Condition=_tagged(scope, "RequestTag"),
        ),
        allow(
            [
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:Describe*",
                "kms:EnableKeyRotation",
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:Get*",
                "kms:List*",
                "kms:PutKeyPolicy",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:Update*",
            ],
            [f"arn:aws:kms:*:{a}:key/*"],
            Sid="ThisEnvironmentsKeys",
            Condition=_tagged(scope, "ResourceTag"),
        ),
        allow(["kms:ListAliases", "kms:ListKeys"], ["*"], Sid="ListKeys"),
        allow(
            ["rds:DescribeDBEngineVersions", "rds:DescribeOrderableDBInstanceOptions"],
            ["*"],
            Sid="DatabaseCatalogue",
        ),
    ]
    if scope.dr_region:
        statements.append(
            allow(
                ["ecr:DescribeRegistry", "ecr:PutReplicationConfiguration"],
                ["*"],
                Sid="ImageReplicationToTheDrRegion",
            )
        )
    return document(*statements)


def deploy_documents(scope: DeployScope) -> dict[str, Document]:
    """One managed policy per concern: each stays under IAM's 6,144-character limit."""
    return {
        "iam": iam_administration(scope),
        "network-cluster": network_and_cluster(scope),
        "data-keys": data_and_keys(scope),
    }
