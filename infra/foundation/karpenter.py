"""Karpenter's AWS side: its controller's Pod Identity role, the interruption queue and rules.

The controller policy follows the one the Karpenter v1 "Getting Started" CloudFormation
template grants, scoped to this cluster: it may only launch, tag and terminate what carries
``kubernetes.io/cluster/<name>=owned`` and a ``karpenter.sh/nodepool`` tag, and may pass only
the cluster's node role, to EC2 only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.foundation import iam_documents as iam
from infra.foundation.service_accounts import ServiceAccountRef

KARPENTER = ServiceAccountRef("kube-system", "karpenter")
NODEPOOL_TAG = "karpenter.sh/nodepool"
NODECLASS_TAG = "karpenter.k8s.aws/ec2nodeclass"
# EventBridge rule -> the events Karpenter reacts to by draining the node in time.
EVENTS: dict[str, dict[str, Any]] = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Spot Instance Interruption Warning"],
    },
    "rebalance": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance Rebalance Recommendation"],
    },
    "instance-state-change": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
    },
}


def _owned(cluster: str, kind: str) -> dict[str, str]:
    return {f"aws:{kind}/kubernetes.io/cluster/{cluster}": "owned"}


def build_controller_policy(
    *, cluster: str, region: str, account: str, node_role_arn: str, queue_arn: str
) -> dict[str, Any]:
    """The controller's rights, statement by statement as in Karpenter's v1 template."""
    ec2 = f"arn:aws:ec2:{region}"
    created = [
        f"{ec2}:{account}:{kind}/*"
        for kind in (
            "fleet",
            "instance",
            "volume",
            "network-interface",
            "launch-template",
            "spot-instances-request",
        )
    ]
    profiles = f"arn:aws:iam::{account}:instance-profile/*"
    name_tag = {"aws:RequestTag/eks:eks-cluster-name": cluster}
    nodepool_request = {f"aws:RequestTag/{NODEPOOL_TAG}": "*"}
    nodepool_resource = {f"aws:ResourceTag/{NODEPOOL_TAG}": "*"}
    region_tag = {"aws:RequestTag/topology.kubernetes.io/region": region}
    return iam.document(
        iam.allow(
            ["ec2:RunInstances", "ec2:CreateFleet"],
            [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                f"{ec2}:*:security-group/*",
                f"{ec2}:*:subnet/*",
                f"{ec2}:*:capacity-reservation/*",
            ],
            Sid="AllowScopedEC2InstanceAccessActions",
        ),
        iam.allow(
            ["ec2:RunInstances", "ec2:CreateFleet"],
            [f"{ec2}:*:launch-template/*"],
            Sid="AllowScopedEC2LaunchTemplateAccessActions",
            Condition={
                "StringEquals": _owned(cluster, "ResourceTag"),
                "StringLike": nodepool_resource,
            },
        ),
        iam.allow(
            ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            created,
            Sid="AllowScopedEC2InstanceActionsWithTags",
            Condition={
                "StringEquals": {**_owned(cluster, "RequestTag"), **name_tag},
                "StringLike": nodepool_request,
            },
        ),
        iam.allow(
            ["ec2:CreateTags"],
            created,
            Sid="AllowScopedResourceCreationTagging",
            Condition={
                "StringEquals": {
                    **_owned(cluster, "RequestTag"),
                    **name_tag,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": nodepool_request,
            },
        ),
        iam.allow(
            ["ec2:CreateTags"],
            [f"{ec2}:{account}:instance/*"],
            Sid="AllowScopedResourceTagging",
            Condition={
                "StringEquals": _owned(cluster, "ResourceTag"),
                "StringLike": nodepool_resource,
                "StringEqualsIfExists": name_tag,
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        ),
        iam.allow(
            ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            [f"{ec2}:{account}:instance/*", f"{ec2}:{account}:launch-template/*"],
            Sid="AllowScopedDeletion",
            Condition={
                "StringEquals": _owned(cluster, "ResourceTag"),
                "StringLike": nodepool_resource,
            },
        ),
        iam.allow(
            [
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            ["*"],  # EC2's Describe calls take no resource ARN
            Sid="AllowRegionalReadActions",
            Condition={"StringEquals": {"aws:RequestedRegion": region}},
        ),
        iam.allow(
            ["ssm:GetParameter"],
            [f"arn:aws:ssm:{region}::parameter/aws/service/*"],
            Sid="AllowSSMReadActions",
        ),
        iam.allow(["pricing:GetProducts"], ["*"], Sid="AllowPricingReadActions"),
        iam.allow(
            ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            [queue_arn],
            Sid="AllowInterruptionQueueActions",
        ),
        iam.allow(
            ["iam:PassRole"],
            [node_role_arn],
            Sid="AllowPassingInstanceRole",
            Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        ),
        iam.allow(
            ["iam:CreateInstanceProfile"],
            [profiles],
            Sid="AllowScopedInstanceProfileCreationActions",
            Condition={
                "StringEquals": {**_owned(cluster, "RequestTag"), **name_tag, **region_tag},
                "StringLike": {f"aws:RequestTag/{NODECLASS_TAG}": "*"},
            },
        ),
        iam.allow(
            ["iam:TagInstanceProfile"],
            [profiles],
            Sid="AllowScopedInstanceProfileTagActions",
            Condition={
                "StringEquals": {
                    **_owned(cluster, "ResourceTag"),
                    "aws:ResourceTag/topology.kubernetes.io/region": region,
                    **_owned(cluster, "RequestTag"),
                    **name_tag,
                    **region_tag,
                },
                "StringLike": {
                    f"aws:ResourceTag/{NODECLASS_TAG}": "*",
                    f"aws:RequestTag/{NODECLASS_TAG}": "*",
                },
            },
        ),
        iam.allow(
            [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            [profiles],
            Sid="AllowScopedInstanceProfileActions",
            Condition={
                "StringEquals": {
                    **_owned(cluster, "ResourceTag"),
                    "aws:ResourceTag/topology.kubernetes.io/region": region,
                },
                "StringLike": {f"aws:ResourceTag/{NODECLASS_TAG}": "*"},
            },
        ),
        iam.allow(
            ["iam:GetInstanceProfile", "iam:ListInstanceProfiles"],
            [profiles],
            Sid="AllowInstanceProfileReadActions",
        ),
        iam.allow(
            ["eks:DescribeCluster"],
            [f"arn:aws:eks:{region}:{account}:cluster/{cluster}"],
            Sid="AllowAPIServerEndpointDiscovery",
        ),
    )


def build_queue_policy(queue_arn: str) -> dict[str, Any]:
    """Only EventBridge and SQS itself may send; nothing reaches the queue without TLS."""
    return iam.document(
        {
            "Sid": "EC2InterruptionPolicy",
            "Effect": "Allow",
            "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
        {
            "Sid": "DenyHTTP",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )


@dataclass(frozen=True, kw_only=True)
class KarpenterFoundationArgs:
    prefix: str
    cluster_name: pulumi.Input[str]  # an Output of the cluster: the association waits for it
    cluster_arn: str
    region: str
    account_id: str
    node_role_arn: pulumi.Input[str]  # Karpenter's nodes reuse the node groups' role
    boundary_arn: pulumi.Input[str]
    tags: dict[str, str]


class KarpenterFoundation(pulumi.ComponentResource):
    queue_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    association: pulumi.Resource  # the controller's pods need it before they start

    def __init__(
        self, name: str, args: KarpenterFoundationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:foundation:KarpenterFoundation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        queue = aws.sqs.Queue(
            f"{name}-interruptions",
            name=f"{args.prefix}-karpenter",
            message_retention_seconds=300,  # a stale warning is worse than none
            sqs_managed_sse_enabled=True,
            tags=args.tags,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-interruptions-policy",
            queue_url=queue.url,
            policy=queue.arn.apply(lambda arn: json.dumps(build_queue_policy(arn))),
            opts=pulumi.ResourceOptions(parent=queue),
        )
        for rule_name, pattern in EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{rule_name}",
                name=f"{args.prefix}-karpenter-{rule_name}",
                event_pattern=json.dumps(pattern),
                tags=args.tags,
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{rule_name}-target",
                rule=rule.name,
                arn=queue.arn,
                opts=pulumi.ResourceOptions(parent=rule),
            )
        role = aws.iam.Role(
            f"{name}-controller",
            name=f"{args.prefix}-karpenter",
            assume_role_policy=json.dumps(
                iam.pod_identity_trust(
                    args.account_id,
                    args.cluster_arn,
                    KARPENTER.namespace,
                    KARPENTER.service_account,
                )
            ),
            permissions_boundary=args.boundary_arn,
            tags={**args.tags, "workload": "karpenter"},
            opts=child,
        )
        cluster = args.cluster_arn.rsplit("/", 1)[1]
        aws.iam.RolePolicy(
            f"{name}-controller-policy",
            role=role.id,
            policy=pulumi.Output.all(args.node_role_arn, queue.arn).apply(
                lambda a: json.dumps(
                    build_controller_policy(
                        cluster=cluster,
                        region=args.region,
                        account=args.account_id,
                        node_role_arn=a[0],
                        queue_arn=a[1],
                    )
                )
            ),
            opts=pulumi.ResourceOptions(parent=role),
        )
        self.association = aws.eks.PodIdentityAssociation(
            f"{name}-controller-association",
            cluster_name=args.cluster_name,
            namespace=KARPENTER.namespace,
            service_account=KARPENTER.service_account,
            role_arn=role.arn,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=role),
        )
        self.queue_name = queue.name
        self.role_arn = role.arn
        self.register_outputs({"queue_name": self.queue_name, "role_arn": self.role_arn})
