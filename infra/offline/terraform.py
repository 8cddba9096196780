"""The offline plan in Terraform's plan-JSON shape, so checkov's Terraform checks read it."""

from __future__ import annotations

import re
from typing import Any

from infra.offline.plan import Plan, Resource

# Pulumi type token -> the Terraform resource type the AWS provider bridges. Every AWS type
# the program declares must be here (a test says so), or checkov would not see it.
TERRAFORM_TYPES: dict[str, str] = {
    "aws:cloudwatch/eventRule:EventRule": "aws_cloudwatch_event_rule",
    "aws:cloudwatch/eventTarget:EventTarget": "aws_cloudwatch_event_target",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "aws_ecr_lifecycle_policy",
    "aws:ecr/replicationConfiguration:ReplicationConfiguration": (
        "aws_ecr_replication_configuration"
    ),
    "aws:ecr/repository:Repository": "aws_ecr_repository",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "aws_ecr_repository_policy",
    "aws:eks/accessEntry:AccessEntry": "aws_eks_access_entry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "aws_eks_access_policy_association",
    "aws:eks/addon:Addon": "aws_eks_addon",
    "aws:eks/cluster:Cluster": "aws_eks_cluster",
    "aws:eks/nodeGroup:NodeGroup": "aws_eks_node_group",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "aws_eks_pod_identity_association",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:iam/policy:Policy": "aws_iam_policy",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": (
        "aws_db_instance_automated_backups_replication"
    ),
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (
        "aws_s3_bucket_lifecycle_configuration"
    ),
    "aws:s3/bucketLogging:BucketLogging": "aws_s3_bucket_logging",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": (
        "aws_s3_bucket_object_lock_configuration"
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("aws_s3_bucket_public_access_block"),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": (
        "aws_s3_bucket_replication_configuration"
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "aws_s3_bucket_server_side_encryption_configuration"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:sqs/queue:Queue": "aws_sqs_queue",
    "aws:sqs/queuePolicy:QueuePolicy": "aws_sqs_queue_policy",
}
# Pulumi names repeated blocks in the plural; Terraform names the block once.
BLOCK_NAMES = {
    "rules": "rule",
    "transitions": "transition",
    "parameters": "parameter",
    "routes": "route",
    "encryptionConfigurations": "encryption_configuration",
    "destinations": "destination",
    "repositoryFilters": "repository_filter",
    "inlinePolicies": "inline_policy",
    "podIdentityAssociations": "pod_identity_association",
}
# Maps, not blocks: their keys are data and stay as they are.
MAPS = frozenset({"tags", "labels"})
# Outputs another resource's input may hold, as Terraform names the attribute.
REFERENCE_ATTRIBUTES = ("arn", "name", "bucket", "keyId")
PROVIDER = "registry.terraform.io/hashicorp/aws"
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    return BLOCK_NAMES.get(name) or _CAMEL.sub(r"_\1", name).lower()


def address(resource: Resource) -> str:
    return f"{TERRAFORM_TYPES[resource.type]}.{resource.name}"


def _index(resources: list[Resource]) -> dict[str, str]:
    """Id, ARN or name of each resource -> the Terraform expression that yields it."""
    found: dict[str, str] = {}
    for r in resources:
        if r.id:
            found.setdefault(r.id, f"{address(r)}.id")
        for attribute in REFERENCE_ATTRIBUTES:
            value = r.outputs.get(attribute)
            # Mocks echo inputs into state: only what the provider computes identifies r.
            if isinstance(value, str) and value and attribute not in r.inputs:
                found.setdefault(value, f"{address(r)}.{snake(attribute)}")
    return found


def convert(value: Any, index: dict[str, str], key: str = "") -> tuple[Any, Any]:
    """(value, expressions) in Terraform's shape; a reference becomes None in the value and
    a ``references`` entry in the expressions, as Terraform plans what it cannot know yet."""
    if key in MAPS:
        return value, None
    if isinstance(value, str) and value in index:
        target = index[value]
        return None, {"references": [target, target.rsplit(".", 1)[0]]}
    if isinstance(value, dict):
        values: dict[str, Any] = {}
        expressions: dict[str, Any] = {}
        for k, v in value.items():
            converted, expression = convert(v, index, k)
            values[snake(k)] = converted
            if expression is not None:
                expressions[snake(k)] = expression
        return [values], [expressions]  # a block: a list of one object
    if isinstance(value, list):
        if any(isinstance(v, dict) for v in value):
            pairs = [convert(v, index) for v in value]
            return [p[0][0] for p in pairs], [p[1][0] for p in pairs]
        refs = [index[v] for v in value if isinstance(v, str) and v in index]
        kept = [None if isinstance(v, str) and v in index else v for v in value]
        references = [x for ref in refs for x in (ref, ref.rsplit(".", 1)[0])]
        return kept, ({"references": references} if refs else None)
    return value, None


def _attributes(resource: Resource, index: dict[str, str]) -> tuple[dict[str, Any], Any]:
    own = {resource.id} | {
        str(resource.outputs.get(a)) for a in REFERENCE_ATTRIBUTES if a not in resource.inputs
    }
    others = {k: v for k, v in index.items() if k not in own}
    values, expressions = convert(resource.inputs, others)
    return values[0], expressions[0]


def to_terraform_plan(plan: Plan) -> dict[str, Any]:
    """`terraform show -json` of a plan that creates every AWS resource of the stack."""
    resources = [r for r in plan.resources if r.type in TERRAFORM_TYPES]
    index = _index(resources)
    planned, changes, configured = [], [], []
    for r in resources:
        values, expressions = _attributes(r, index)
        head = {
            "address": address(r),
            "mode": "managed",
            "type": TERRAFORM_TYPES[r.type],
            "name": r.name,
        }
        planned.append(
            {
                **head,
                "provider_name": PROVIDER,
                "schema_version": 0,
                "values": values,
                "sensitive_values": {},
            }
        )
        changes.append(
            {
                **head,
                "provider_name": PROVIDER,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": values,
                    "after_unknown": {},
                    "before_sensitive": False,
                    "after_sensitive": {},
                },
            }
        )
        configured.append({**head, "provider_config_key": "aws", "expressions": expressions})
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": PROVIDER}},
            "root_module": {"resources": configured},
        },
    }


def untranslated_types(plan: Plan) -> set[str]:
    """AWS types in the plan that the export does not know (it must know all of them)."""
    return {r.type for r in plan.resources if r.type.startswith("aws:")} - set(TERRAFORM_TYPES)
