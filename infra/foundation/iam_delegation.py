"""Delegated IAM administration: the role boundary and the deploy role's rights over IAM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.foundation.iam_documents import Document, allow, document

# The AWS managed policies the program attaches; nothing else may be attached by CI.
AWS_MANAGED_POLICIES = tuple(
    f"arn:aws:iam::aws:policy/{name}"
    for name in (
        "AmazonEKSClusterPolicy",
        "AmazonEKSVPCResourceController",
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryReadOnly",
        "AmazonEKS_CNI_Policy",
        "service-role/AmazonEBSCSIDriverPolicy",
        "service-role/AmazonRDSEnhancedMonitoringRole",
    )
)
# Services the program's roles are handed to (iam:PassRole), and nothing else.
PASSED_TO_SERVICES = (
    "eks.amazonaws.com",
    "pods.eks.amazonaws.com",
    "ec2.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
    "s3.amazonaws.com",
    "monitoring.rds.amazonaws.com",
)
SERVICE_LINKED = (
    "eks.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "rds.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "autoscaling.amazonaws.com",
    "replication.ecr.amazonaws.com",
)
# What Karpenter's controller calls that takes no resource (instance type and price data).
NODE_AUTOSCALER_READS = (
    "ec2:DescribeCapacityReservations",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeSpotPriceHistory",
    "pricing:GetProducts",
)
# EC2 reads that AWS evaluates only against "*" (no resource-level permission exists).
EC2_DESCRIBE = (
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAddressesAttribute",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeFlowLogs",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeInstances",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeManagedPrefixLists",
    "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribePrefixLists",
    "ec2:DescribeRegions",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSnapshots",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVolumes",
    "ec2:DescribeVpcEndpointServices",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
)
ROLE_WRITE_ACTIONS = [
    "iam:AttachRolePolicy",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PassRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
]
POLICY_WRITE_ACTIONS = [
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:UntagPolicy",
]


@dataclass(frozen=True, kw_only=True)
class DeployScope:
    """Names and places one stack owns: everything the deploy role may touch derives from it."""

    account_id: str
    region: str
    dr_region: str | None
    prefix: str  # e.g. "mlsys-prod": every physical name starts with it
    environment: str

    @property
    def deploy_role_name(self) -> str:
        return f"{self.prefix}-github-deploy"

    @property
    def preview_role_name(self) -> str:
        return f"{self.prefix}-github-preview"

    @property
    def boundary_name(self) -> str:
        return f"{self.prefix}-role-boundary"

    @property
    def boundary_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:policy/{self.boundary_name}"

    @property
    def regions(self) -> tuple[str, ...]:
        return (self.region, self.dr_region) if self.dr_region else (self.region,)

    def iam(self, kind: str, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:{kind}/{name}"

    def arns(self, service: str, *resources: str) -> list[str]:
        """ARNs of ``service`` in this stack's regions and account."""
        return [
            f"arn:aws:{service}:{region}:{self.account_id}:{resource}"
            for region in self.regions
            for resource in resources
        ]


def role_boundary(scope: DeployScope) -> Document:
    """The most any role the program creates can ever do, whatever policy CI attaches to it.

    It covers the service roles (EKS, nodes, add-ons, flow logs, replication, monitoring) and
    the Pod Identity roles, in this account only; IAM is limited to service-linked roles.
    """
    a = scope.account_id
    return document(
        allow(
            ["ec2:*", "eks:*", "ecr:*", "elasticloadbalancing:*", "autoscaling:*", "logs:*"],
            [
                f"arn:aws:ec2:*:{a}:*",
                "arn:aws:ec2:*::snapshot/*",
                "arn:aws:ec2:*::image/*",
                f"arn:aws:eks:*:{a}:*",
                f"arn:aws:ecr:*:{a}:repository/{scope.prefix}-*",
                f"arn:aws:elasticloadbalancing:*:{a}:*",
                f"arn:aws:autoscaling:*:{a}:*",
                f"arn:aws:logs:*:{a}:*",
            ],
            Sid="ClusterAndNetworkInThisAccount",
        ),
        allow(
            [*EC2_DESCRIBE, "ecr:GetAuthorizationToken", "elasticloadbalancing:Describe*"],
            ["*"],
            Sid="CallsThatTakeNoResource",
        ),
        allow(
            ["s3:*"],
            [f"arn:aws:s3:::{scope.prefix}-*", f"arn:aws:s3:::{scope.prefix}-*/*"],
            Sid="ThisStacksBuckets",
        ),
        allow(
            [
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:GetPublicKey",
                "kms:ReEncrypt*",
                "kms:Sign",
                "kms:Verify",
            ],
            [f"arn:aws:kms:*:{a}:key/*"],
            Sid="KeysOfThisAccount",
        ),
        allow(
            ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            [f"arn:aws:secretsmanager:*:{a}:secret:*"],
            Sid="SecretsOfThisAccount",
        ),
        allow(["rds-db:connect"], [f"arn:aws:rds-db:*:{a}:dbuser:*/*"], Sid="DatabaseUsers"),
        # Route 53 ARNs carry no account: a hosted zone id is unique to its account.
        allow(
            [
                "route53:ChangeResourceRecordSets",
                "route53:GetChange",
                "route53:ListResourceRecordSets",
            ],
            ["arn:aws:route53:::hostedzone/*", "arn:aws:route53:::change/*"],
            Sid="DnsChallengeRecords",
        ),
        allow(
            ["iam:CreateServiceLinkedRole"],
            [f"arn:aws:iam::{a}:role/aws-service-role/*"],
            Sid="ServiceLinkedRolesOnly",
        ),
        *_node_autoscaler(scope),
    )


def _node_autoscaler(scope: DeployScope) -> list[dict[str, Any]]:
    """Karpenter's controller: the public AMI parameters, its own queue, the instance
    profiles of this cluster's nodes (by the tag it sets), and handing this stack's roles
    to EC2 only (its own policy narrows that to the node role)."""
    a, cluster = scope.account_id, scope.prefix
    owned = f"kubernetes.io/cluster/{cluster}"
    profiles = [f"arn:aws:iam::{a}:instance-profile/*"]
    return [
        allow(list(NODE_AUTOSCALER_READS), ["*"], Sid="NodeAutoscalerReads"),
        allow(
            ["ssm:GetParameter"],
            ["arn:aws:ssm:*::parameter/aws/service/*"],
            Sid="PublicAmiParameters",
        ),
        allow(
            ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            [f"arn:aws:sqs:*:{a}:{cluster}-karpenter"],
            Sid="InterruptionQueue",
        ),
        allow(
            ["iam:CreateInstanceProfile"],
            profiles,
            Sid="CreateThisClustersInstanceProfiles",
            Condition={"StringEquals": {f"aws:RequestTag/{owned}": "owned"}},
        ),
        allow(
            [
                "iam:AddRoleToInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:TagInstanceProfile",
            ],
            profiles,
            Sid="ThisClustersInstanceProfiles",
            Condition={"StringEquals": {f"aws:ResourceTag/{owned}": "owned"}},
        ),
        # Asked before creating one, so it cannot depend on the profile's tags.
        allow(
            ["iam:GetInstanceProfile", "iam:ListInstanceProfiles"],
            profiles,
            Sid="ReadInstanceProfiles",
        ),
        allow(
            ["iam:PassRole"],
            [scope.iam("role", f"{scope.prefix}-*")],
            Sid="PassThisStacksRolesToEc2",
            Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        ),
    ]


def iam_administration(scope: DeployScope) -> Document:
    """Delegated administration: CI manages this stack's roles, each inside the boundary.

    It cannot create or change a role without the boundary, attach any policy but the ones
    the program uses, touch its own role, the boundary or its own policies, or pass a role
    to anything but the program's services.
    """
    roles = [scope.iam("role", f"{scope.prefix}-*")]
    with_boundary = {"StringEquals": {"iam:PermissionsBoundary": scope.boundary_arn}}
    own_policies = scope.iam("policy", f"{scope.prefix}-*")
    return document(
        allow(
            [
                "iam:CreateRole",
                "iam:DeleteRolePolicy",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
            ],
            roles,
            Sid="RolesOnlyWithTheBoundary",
            Condition=with_boundary,
        ),
        allow(
            ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            roles,
            Sid="OnlyTheProgramsManagedPolicies",
            Condition={
                **with_boundary,
                "ArnEquals": {"iam:PolicyARN": list(AWS_MANAGED_POLICIES)},
            },
        ),
        allow(
            [
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ],
            roles,
            Sid="ThisStacksRoles",
        ),
        allow(
            ["iam:PassRole"],
            roles,
            Sid="PassOnlyToTheProgramsServices",
            Condition={"StringEquals": {"iam:PassedToService": list(PASSED_TO_SERVICES)}},
        ),
        allow(
            ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"],
            [own_policies],
            Sid="ReadOwnPolicies",
        ),
        allow(
            ["iam:GetOpenIDConnectProvider"],
            [scope.iam("oidc-provider", "token.actions.githubusercontent.com")],
            Sid="ReadGitHubProvider",
        ),
        allow(
            ["iam:CreateServiceLinkedRole"],
            [scope.iam("role", "aws-service-role/*")],
            Sid="ServiceLinkedRoles",
            Condition={"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED)}},
        ),
        {
            # Nor the pull-request role: widening it would hand unmerged code more rights.
            "Sid": "NeverChangeTheCiRoles",
            "Effect": "Deny",
            "Action": sorted(ROLE_WRITE_ACTIONS),
            "Resource": [
                scope.iam("role", scope.deploy_role_name),
                scope.iam("role", scope.preview_role_name),
            ],
        },
        {
            "Sid": "NeverChangeTheBoundaryOrItsOwnPolicies",
            "Effect": "Deny",
            "Action": sorted(POLICY_WRITE_ACTIONS),
            "Resource": [own_policies],
        },
        {
            "Sid": "NeverRemoveABoundary",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary"],
            "Resource": [scope.iam("role", "*")],
        },
    )
