"""Guardrail rules over resource properties as Pulumi hands them to a policy pack (camelCase).

Each resource rule takes ``(type, props)`` and returns its violations as sentences; each
stack rule takes every resource at once for checks that span resources (a bucket and its
policy). Nothing here imports Pulumi, so the tests run the same functions over the plan.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

REQUIRED_TAGS = ("project", "environment", "owner", "cost-center")
# Actions AWS evaluates only against "*": they take no resource ARN.
STAR_RESOURCE_ACTIONS = frozenset({"ec2:DescribeVolumes", "ec2:DescribeSnapshots"})
TAGGABLE = frozenset(
    {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/eip:Eip",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ec2/flowLog:FlowLog",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:iam/role:Role",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:kms/key:Key",
        "aws:s3/bucket:Bucket",
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:eks/addon:Addon",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "aws:rds/instance:Instance",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:rds/parameterGroup:ParameterGroup",
        "aws:secretsmanager/secret:Secret",
        "aws:ecr/repository:Repository",
    }
)

Props = dict[str, Any]
ResourceRule = Callable[[str, Props], list[str]]


@dataclass(frozen=True)
class PlannedResource:
    type: str
    name: str
    props: Props


StackRule = Callable[[list[PlannedResource]], list[str]]


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def encrypted_storage(typ: str, props: Props) -> list[str]:
    """S3 with a KMS key, RDS storage, EBS volumes and EKS secrets are encrypted."""
    if (
        typ
        == "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        for rule in props.get("rules") or []:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            if default.get("sseAlgorithm") != "aws:kms" or not default.get("kmsMasterKeyId"):
                return ["S3 default encryption must be aws:kms with a customer managed key"]
        return [] if props.get("rules") else ["S3 encryption configuration has no rule"]
    if typ == "aws:rds/instance:Instance" and not _truthy(props.get("storageEncrypted")):
        return ["RDS storage must be encrypted (storageEncrypted)"]
    if typ == "aws:ebs/volume:Volume" and not _truthy(props.get("encrypted")):
        return ["EBS volumes must be encrypted"]
    if typ == "aws:ec2/launchTemplate:LaunchTemplate":
        for mapping in props.get("blockDeviceMappings") or []:
            if not _truthy((mapping.get("ebs") or {}).get("encrypted")):
                return [f"launch template volume {mapping.get('deviceName')} must be encrypted"]
    if typ == "aws:eks/cluster:Cluster":
        resources = (props.get("encryptionConfig") or {}).get("resources") or []
        if "secrets" not in resources:
            return ["EKS must encrypt Kubernetes secrets with KMS (encryptionConfig)"]
    return []


def no_public_database(typ: str, props: Props) -> list[str]:
    if typ == "aws:rds/instance:Instance" and _truthy(props.get("publiclyAccessible")):
        return ["RDS instances must not be publicly accessible"]
    return []


def no_public_bucket(typ: str, props: Props) -> list[str]:
    if typ != "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        return []
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [flag for flag in flags if not _truthy(props.get(flag))]
    return [f"S3 public access block must enable {', '.join(off)}"] if off else []


def required_tags(typ: str, props: Props) -> list[str]:
    if typ not in TAGGABLE:
        return []
    tags = props.get("tags") or {}
    missing = [tag for tag in REQUIRED_TAGS if not tags.get(tag)]
    return [f"missing required tag(s): {', '.join(missing)}"] if missing else []


def production_database(typ: str, props: Props) -> list[str]:
    """In prod: deletion protection, Multi-AZ and at least 14 days of backups."""
    if typ != "aws:rds/instance:Instance" or (props.get("tags") or {}).get("environment") != "prod":
        return []
    problems = []
    if not _truthy(props.get("deletionProtection")):
        problems.append("prod RDS needs deletionProtection")
    if not _truthy(props.get("multiAz")):
        problems.append("prod RDS needs multiAz")
    if int(props.get("backupRetentionPeriod") or 0) < 14:
        problems.append("prod RDS needs backupRetentionPeriod >= 14")
    return problems


def _statements(document: Any) -> Iterable[dict[str, Any]]:
    if isinstance(document, str):
        document = json.loads(document)
    statements = (document or {}).get("Statement") or []
    return [statements] if isinstance(statements, dict) else statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def no_star_resources(typ: str, props: Props) -> list[str]:
    """IAM Allow statements name ARNs; "*" only for actions AWS offers no ARN for."""
    if typ not in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        return []
    problems = []
    for statement in _statements(props.get("policy")):
        if statement.get("Effect") != "Allow":
            continue
        actions = set(_as_list(statement.get("Action")))
        if "*" in actions:
            problems.append("IAM statements must not allow every action ('*')")
        if "*" in _as_list(statement.get("Resource")):
            unscoped = sorted(actions - STAR_RESOURCE_ACTIONS)
            if unscoped:
                problems.append(f"IAM actions {unscoped} must be scoped to ARNs, not '*'")
    return problems


def tls_only_buckets(resources: list[PlannedResource]) -> list[str]:
    """Every bucket has a policy that denies requests without TLS."""
    return _every_bucket_has(
        resources,
        "aws:s3/bucketPolicy:BucketPolicy",
        _denies_plain_http,
        "has no bucket policy denying non-TLS requests",
    )


def buckets_fully_guarded(resources: list[PlannedResource]) -> list[str]:
    """Every bucket has encryption, a public access block and versioning."""
    problems = []
    for typ, what in (
        (
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "has no KMS encryption configuration",
        ),
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "has no public access block"),
        ("aws:s3/bucketVersioning:BucketVersioning", "has no versioning"),
    ):
        problems += _every_bucket_has(resources, typ, lambda _p: True, what)
    return problems


def _denies_plain_http(props: Props) -> bool:
    return any(
        s.get("Effect") == "Deny"
        and (s.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in _statements(props.get("policy"))
    )


def _every_bucket_has(
    resources: list[PlannedResource], typ: str, check: Callable[[Props], bool], what: str
) -> list[str]:
    buckets = {r.props.get("bucket") for r in resources if r.type == "aws:s3/bucket:Bucket"}
    covered = {r.props.get("bucket") for r in resources if r.type == typ and check(r.props)}
    return [f"bucket {name} {what}" for name in sorted(str(b) for b in buckets - covered)]


RESOURCE_RULES: dict[str, tuple[str, ResourceRule]] = {
    "encrypted-storage": ("S3, RDS, EBS and EKS secrets are encrypted.", encrypted_storage),
    "no-public-database": ("Databases are never publicly accessible.", no_public_database),
    "no-public-bucket": ("S3 public access blocks are fully on.", no_public_bucket),
    "required-tags": ("project, environment, owner and cost-center tags.", required_tags),
    "production-database": (
        "Prod RDS: deletion protection, Multi-AZ, >= 14 days of backups.",
        production_database,
    ),
    "no-star-resources": ("IAM statements are scoped to ARNs.", no_star_resources),
}
STACK_RULES: dict[str, tuple[str, StackRule]] = {
    "tls-only-buckets": ("Every bucket denies non-TLS requests.", tls_only_buckets),
    "buckets-fully-guarded": (
        "Every bucket is encrypted, versioned and private.",
        buckets_fully_guarded,
    ),
}


def check_all(resources: list[PlannedResource]) -> list[str]:
    """Every violation of every rule, as '<rule>: <resource>: <message>'."""
    found = []
    for rule_name, (_, rule) in RESOURCE_RULES.items():
        for resource in resources:
            found += [
                f"{rule_name}: {resource.name}: {m}" for m in rule(resource.type, resource.props)
            ]
    for rule_name, (_, stack_rule) in STACK_RULES.items():
        found += [f"{rule_name}: {m}" for m in stack_rule(resources)]
    return found
