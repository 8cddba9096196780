"""Guardrails: every stack passes, and each mutation the review found accepted is refused."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from infra.offline.plan import Plan
from infra.policy.rules import PlannedResource, check_all
from infra.stack_file import STACKS

Mutation = Callable[[list[PlannedResource]], list[PlannedResource]]


def planned(plan: Plan) -> list[PlannedResource]:
    return [
        PlannedResource(r.type, r.name, copy.deepcopy(r.inputs), r.urn, r.property_dependencies)
        for r in plan.resources
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_passes_every_guardrail(plans, stack):
    assert check_all(planned(plans[stack])) == []


def _edit(typ: str, change: Callable[[dict[str, Any]], None], name: str = "") -> Mutation:
    """Apply ``change`` to the props of the first resource of ``typ`` (whose name has ``name``)."""

    def mutate(resources: list[PlannedResource]) -> list[PlannedResource]:
        target = next(r for r in resources if r.type == typ and name in r.name)
        change(target.props)
        return resources

    return mutate


def _add(typ: str, name: str, props: dict[str, Any]) -> Mutation:
    return lambda resources: [*resources, PlannedResource(typ, name, props)]


def _drop(typ: str, name: str = "") -> Mutation:
    def mutate(resources: list[PlannedResource]) -> list[PlannedResource]:
        victim = next(r for r in resources if r.type == typ and name in r.name)
        return [r for r in resources if r is not victim]

    return mutate


def _policy(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _set_policy(document: str, key: str = "policy") -> Callable[[dict[str, Any]], None]:
    return lambda props: props.__setitem__(key, document)


TAGS = {"project": "mlsys", "environment": "prod", "owner": "ml", "cost-center": "cc"}
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
ROLE, RDS, SG = (
    "aws:iam/role:Role",
    "aws:rds/instance:Instance",
    "aws:ec2/securityGroup:SecurityGroup",
)
ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
BROAD_S3 = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"}
GITHUB = "arn:aws:iam::777788889999:oidc-provider/token.actions.githubusercontent.com"


def _sse_key(key: str) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        props["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] = key

    return change


def _github_trust(condition: dict[str, Any]) -> str:
    return _policy(
        {
            "Effect": "Allow",
            "Principal": {"Federated": GITHUB},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }
    )


def _preview_policy(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """Edit the preview role's inline policy document in place."""

    def edit(props: dict[str, Any]) -> None:
        inline = props["inlinePolicies"][0]
        doc = json.loads(inline["policy"])
        change(doc)
        inline["policy"] = json.dumps(doc)

    return edit


def _without_sid(sid: str) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc.__setitem__(
        "Statement", [s for s in doc["Statement"] if s.get("Sid") != sid]
    )


def _deny_only_on(resource: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        for statement in doc["Statement"]:
            if statement["Effect"] == "Deny":
                statement["Resource"] = [resource]

    return change


# (mutation, the rule and text that must appear among the violations)
MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "preview role may start instances": (
        _edit(
            ROLE,
            _preview_policy(
                lambda doc: doc["Statement"].append(
                    {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}
                )
            ),
            "ci-preview",
        ),
        "pull-request-roles-read-only: mlsys-prod-ci-preview: a role trusted by pull requests "
        "may only read",
    ),
    "preview role may do anything in s3": (
        _edit(
            ROLE,
            _preview_policy(
                lambda doc: doc["Statement"].append(
                    {"Effect": "Allow", "Action": ["s3:*"], "Resource": "arn:aws:s3:::mlsys-*"}
                )
            ),
            "ci-preview",
        ),
        "may only read, not ['s3:*']",
    ),
    "preview role without the data deny": (
        _edit(ROLE, _preview_policy(_without_sid("NeverTheData")), "ci-preview"),
        "must deny the data reads ['kms:Decrypt', 's3:GetObject'",
    ),
    "preview role denies data reads on one bucket only": (
        _edit(
            ROLE, _preview_policy(_deny_only_on("arn:aws:s3:::mlsys-prod-datasets")), "ci-preview"
        ),
        "must deny the data reads",
    ),
    "preview role with a managed policy": (
        _edit(
            ROLE,
            lambda p: p.__setitem__(
                "managedPolicyArns", ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
            ),
            "ci-preview",
        ),
        "must not carry managed policies",
    ),
    "policy attached to the preview role": (
        _add(
            ATTACH,
            "extra",
            {
                "role": "mlsys-prod-github-preview",
                "policyArn": "arn:aws:iam::777788889999:policy/mlsys-prod-extra",
            },
        ),
        "pull-request-roles-unattached: extra: attaches rights to mlsys-prod-github-preview",
    ),
    "deploy role trusted by pull requests": (
        _edit(
            ROLE,
            _set_policy(
                _github_trust(
                    {
                        "StringEquals": {
                            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                            "token.actions.githubusercontent.com:sub": (
                                "repo:example-org/mlsys:pull_request"
                            ),
                        }
                    }
                ),
                "assumeRolePolicy",
            ),
            "ci-deploy",
        ),
        "pull-request-roles-read-only: mlsys-prod-ci-deploy: a role trusted by pull requests "
        "needs its read-only inline policy",
    ),
    "sse with alias/aws/s3": (
        _edit(SSE, _sse_key("alias/aws/s3"), "datasets"),
        "buckets-fully-guarded",
    ),
    "sse AES256 on a data bucket": (
        _edit(
            SSE,
            lambda p: p["rules"][0]["applyServerSideEncryptionByDefault"].update(
                sseAlgorithm="AES256"
            ),
            "datasets",
        ),
        "buckets-fully-guarded",
    ),
    "launch template without block devices": (
        _edit("aws:ec2/launchTemplate:LaunchTemplate", lambda p: p.pop("blockDeviceMappings")),
        "encrypted-storage",
    ),
    "launch template volume unencrypted": (
        _edit(
            "aws:ec2/launchTemplate:LaunchTemplate",
            lambda p: p["blockDeviceMappings"][0]["ebs"].update(encrypted="false"),
        ),
        "encrypted-storage",
    ),
    "gp3 StorageClass encrypted false": (
        _edit(
            "kubernetes:storage.k8s.io/v1:StorageClass",
            lambda p: p["parameters"].update(encrypted="false"),
        ),
        "encrypted-storage",
    ),
    "rds storage unencrypted": (
        _edit(RDS, lambda p: p.update(storageEncrypted=False)),
        "encrypted-storage",
    ),
    "secret without a customer key": (
        _add("aws:secretsmanager/secret:Secret", "s", {"tags": TAGS}),
        "encrypted-storage: s: Secrets Manager",
    ),
    "secret with aws/secretsmanager": (
        _add(
            "aws:secretsmanager/secret:Secret",
            "s",
            {"tags": TAGS, "kmsKeyId": "alias/aws/secretsmanager"},
        ),
        "encrypted-storage: s: Secrets Manager",
    ),
    "log group without a key": (
        _edit("aws:cloudwatch/logGroup:LogGroup", lambda p: p.pop("kmsKeyId")),
        "encrypted-storage",
    ),
    "new type untagged": (_add("aws:sqs/queue:Queue", "q", {}), "required-tags: q: missing"),
    "bucketV2 untagged": (
        _add("aws:s3/bucketV2:BucketV2", "b2", {"bucket": "b2"}),
        "required-tags: b2",
    ),
    "bucketV2 escapes the bucket rules": (
        _add("aws:s3/bucketV2:BucketV2", "b2", {"bucket": "b2", "tags": TAGS}),
        "tls-only-buckets: bucket b2",
    ),
    "environment=production with multiAz off": (
        _edit(
            RDS, lambda p: p.update(tags={**p["tags"], "environment": "production"}, multiAz=False)
        ),
        "production-database: mlsys-prod-db-postgres: prod RDS needs multiAz",
    ),
    "prod rds deletion protection off": (
        _edit(RDS, lambda p: p.update(deletionProtection=False)),
        "prod RDS needs deletionProtection",
    ),
    "prod rds skips the final snapshot": (
        _edit(RDS, lambda p: p.update(skipFinalSnapshot=True)),
        "prod RDS needs a final snapshot",
    ),
    "prod rds short backups": (
        _edit(RDS, lambda p: p.update(backupRetentionPeriod=7)),
        "backupRetentionPeriod >= 14",
    ),
    "rds without an environment tag": (
        _edit(RDS, lambda p: p.update(tags={}, multiAz=False)),
        "prod RDS needs multiAz",
    ),
    "public rds": (_edit(RDS, lambda p: p.update(publiclyAccessible=True)), "no-public-database"),
    "s3:* on arn:aws:s3:::*": (
        _edit("aws:iam/rolePolicy:RolePolicy", _set_policy(_policy(BROAD_S3)), "serving"),
        "no-star-resources",
    ),
    "NotAction allow": (
        _edit(
            "aws:iam/rolePolicy:RolePolicy",
            _set_policy(_policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})),
            "serving",
        ),
        "NotAction",
    ),
    "NotResource allow": (
        _edit(
            "aws:iam/rolePolicy:RolePolicy",
            _set_policy(
                _policy(
                    {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x"}
                )
            ),
            "serving",
        ),
        "NotResource",
    ),
    "AdministratorAccess attached": (
        _add(
            ATTACH, "a", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
        ),
        "managed-policies: a",
    ),
    "PowerUserAccess attached": (
        _add(ATTACH, "p", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}),
        "managed-policies: p",
    ),
    "role managedPolicyArns admin": (
        _edit(
            ROLE,
            lambda p: p.update(managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"]),
            "serving",
        ),
        "managed-policies",
    ),
    "role inline policy with *": (
        _edit(
            ROLE,
            lambda p: p.update(
                inlinePolicies=[
                    {
                        "name": "x",
                        "policy": _policy({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                    }
                ]
            ),
            "serving",
        ),
        "no-star-resources",
    ),
    "tls deny narrowed to s3:ListBucket": (
        _edit(
            "aws:s3/bucketPolicy:BucketPolicy",
            lambda p: p.update(policy=p["policy"].replace('"s3:*"', '"s3:ListBucket"')),
            "datasets",
        ),
        "tls-only-buckets: bucket mlsys-prod-datasets",
    ),
    "tls deny on another bucket": (
        _edit(
            "aws:s3/bucketPolicy:BucketPolicy",
            lambda p: p.update(policy=p["policy"].replace("mlsys-prod-datasets", "someone-else")),
            "datasets-tls",
        ),
        "tls-only-buckets: bucket mlsys-prod-datasets",
    ),
    "versioning suspended": (
        _edit(
            "aws:s3/bucketVersioning:BucketVersioning",
            lambda p: p.update(versioningConfiguration={"status": "Suspended"}),
            "datasets",
        ),
        "has no versioning",
    ),
    "public access block partly off": (
        _edit(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            lambda p: p.update(restrictPublicBuckets=False),
        ),
        "no-public-bucket",
    ),
    "trust Principal AWS *": (
        _edit(
            ROLE,
            _set_policy(
                _policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
                "assumeRolePolicy",
            ),
            "serving",
        ),
        "trust-policies",
    ),
    "github StringLike repo:org/*": (
        _edit(
            ROLE,
            _set_policy(
                _github_trust(
                    {
                        "StringLike": {
                            "token.actions.githubusercontent.com:sub": "repo:example-org/*"
                        },
                        "StringEquals": {
                            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
                        },
                    }
                ),
                "assumeRolePolicy",
            ),
            "ci-deploy",
        ),
        "trust-policies",
    ),
    "github without a subject": (
        _edit(
            ROLE,
            _set_policy(
                _github_trust(
                    {
                        "StringEquals": {
                            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
                        }
                    }
                ),
                "assumeRolePolicy",
            ),
            "ci-deploy",
        ),
        "trust-policies",
    ),
    "pod identity without source conditions": (
        _edit(
            ROLE,
            _set_policy(
                _policy(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "pods.eks.amazonaws.com"},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                    }
                ),
                "assumeRolePolicy",
            ),
            "serving",
        ),
        "aws:SourceAccount",
    ),
    "security group open to the internet": (
        _edit(SG, lambda p: p["ingress"][0].update(cidrBlocks=["0.0.0.0/0"]), "db-sg"),
        "no-open-ingress",
    ),
    "ingress rule open to ::/0": (
        _add(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "i",
            {"cidrIpv6": "::/0", "tags": TAGS},
        ),
        "no-open-ingress: i",
    ),
    "prod eks api open to the internet": (
        _edit(
            "aws:eks/cluster:Cluster",
            lambda p: p["vpcConfig"].update(
                endpointPublicAccess=True, publicAccessCidrs=["0.0.0.0/0"]
            ),
        ),
        "no-open-ingress",
    ),
    "replication removed": (
        _drop("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "datasets"),
        "replicated-buckets: prod bucket mlsys-prod-datasets",
    ),
    "replication disabled": (
        _edit(
            "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
            lambda p: p["rules"][0].update(status="Disabled"),
            "backups",
        ),
        "replicated-buckets: prod bucket mlsys-prod-backups",
    ),
}


@pytest.mark.parametrize("label", MUTATIONS)
def test_each_mutation_is_refused(plans, label):
    mutate, expected = MUTATIONS[label]
    found = "\n".join(check_all(mutate(planned(plans["prod"]))))
    assert expected in found, found or "no violation"
