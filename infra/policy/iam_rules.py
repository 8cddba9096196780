"""IAM guardrails: scoped grants, no broad managed policies, trust only the intended callers.

An IAM document built from the ARNs of resources created in the same run is UNKNOWN at
preview. Those are not judged then (they are pure functions with their own tests), and
CrossGuard judges them again during `pulumi up`, with the values known, before they apply.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from infra.foundation.deploy_permissions import AWS_MANAGED_POLICIES, EC2_DESCRIBE
from infra.foundation.iam_delegation import NODE_AUTOSCALER_READS
from infra.policy.values import UNKNOWN, get, items, statements

Props = Any
# Actions AWS evaluates only against "*": they take no resource ARN.
NO_RESOURCE_ACTIONS = frozenset(
    {
        *EC2_DESCRIBE,
        *NODE_AUTOSCALER_READS,
        "ecr:DescribeRegistry",
        "ecr:GetAuthorizationToken",
        "ecr:PutReplicationConfiguration",
        "eks:DescribeAddonConfiguration",
        "eks:DescribeAddonVersions",
        "elasticloadbalancing:Describe*",
        "kms:ListAliases",
        "kms:ListKeys",
        "logs:DescribeLogGroups",
        "rds:DescribeDBEngineVersions",
        "rds:DescribeOrderableDBInstanceOptions",
    }
)
# A "*" resource held to one environment by tag (ABAC) is scoped; never for IAM itself.
TAG_SCOPES = ("aws:ResourceTag/environment", "aws:RequestTag/environment")
POLICY_DOCUMENTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
GITHUB = "token.actions.githubusercontent.com"
GITHUB_SUBJECT = re.compile(
    r"^repo:[A-Za-z0-9-]+/[A-Za-z0-9._-]+:(environment:[a-z0-9-]+|pull_request)$"
)
# Metadata reads: Describe and List name and configure resources, and most take no ARN.
METADATA_READ = re.compile(r"^[a-z0-9-]+:(Describe|List)[A-Za-z0-9]*\*?$")
# What a role trusted by pull requests may be granted: reads, named by verb.
READ_VERB = re.compile(r"^[a-z0-9-]+:(Describe|Get|List)[A-Za-z0-9]*\*?$")
# Reads of content a pull-request role must be explicitly denied, whatever grants them.
DATA_READS = (
    "kms:Decrypt",
    "s3:GetObject",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "logs:GetLogEvents",
)
# A resource part that is only wildcards, in any partition, region or account.
UNSCOPED_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9*-]+:[^:]*:[*]?:[*]+$|^\*$")


def _documents(typ: str, props: Props) -> list[Any]:
    if typ in POLICY_DOCUMENTS:
        return [get(props, POLICY_DOCUMENTS[typ])]
    if typ == "aws:iam/role:Role":
        return [get(policy, "policy") for policy in items(get(props, "inlinePolicies"))]
    return []


def _tag_scoped(statement: Any) -> bool:
    conditions = get(statement, "Condition") or {}
    return any(
        isinstance(block, dict) and any(k in block for k in TAG_SCOPES)
        for block in (conditions.values() if isinstance(conditions, dict) else [])
    )


def _statement_problems(statement: Any) -> list[str]:
    if get(statement, "Effect") != "Allow":
        return []
    problems = []
    for key in ("NotAction", "NotResource"):
        if get(statement, key) is not None:
            problems.append(f"IAM Allow statements must not use {key} (it grants everything else)")
    actions = [str(a) for a in items(get(statement, "Action"))]
    resources = [str(r) for r in items(get(statement, "Resource"))]
    if "*" in actions or any(a.lower() == "iam:*" for a in actions):
        problems.append("IAM statements must not allow every action ('*' or 'iam:*')")
    broad = [r for r in resources if UNSCOPED_ARN.match(r)]
    if broad and not all(METADATA_READ.match(a) for a in actions):
        unscoped = sorted(set(actions) - NO_RESOURCE_ACTIONS)
        iam = [a for a in unscoped if a.lower().startswith("iam:")]
        if unscoped and (iam or not _tag_scoped(statement)):
            problems.append(
                f"IAM actions {unscoped} must be scoped to ARNs (or by environment tag), "
                f"not {broad}"
            )
    return problems


def no_star_resources(typ: str, props: Props) -> list[str]:
    """IAM Allow statements name what they grant: ARNs, or an environment tag condition."""
    problems: list[str] = []
    for doc in _documents(typ, props):
        found = statements(doc)
        if found is UNKNOWN:
            continue  # judged at `pulumi up`; see the module docstring
        for statement in found:
            problems += _statement_problems(statement)
    return problems


def managed_policies(typ: str, props: Props) -> list[str]:
    """Only the AWS managed policies the program needs; never AdministratorAccess and kin."""
    if typ in (
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
    ):
        arns = [get(props, "policyArn")]
    elif typ == "aws:iam/role:Role":
        arns = items(get(props, "managedPolicyArns"))
    else:
        return []
    return [
        f"AWS managed policy {arn} is not one the program needs; attach a scoped policy"
        for arn in arns
        # UNKNOWN is a policy this program creates; those are checked as policies.
        if isinstance(arn, str)
        and arn.startswith("arn:aws:iam::aws:policy/")
        and arn not in AWS_MANAGED_POLICIES
    ]


def _principals(statement: Any, kind: str) -> list[str]:
    principal = get(statement, "Principal")
    if principal == "*":
        return ["*"]
    return [str(p) for p in items(get(principal, kind))]


def _trust_problems(statement: Any) -> list[str]:
    if get(statement, "Effect") != "Allow":
        return []
    if "*" in _principals(statement, "AWS") or get(statement, "NotPrincipal") is not None:
        return ["trust policies must name their principals, never '*' or NotPrincipal"]
    problems = []
    conditions = get(statement, "Condition") or {}
    if any(GITHUB in p for p in _principals(statement, "Federated")):
        subject = get(conditions, "StringEquals", f"{GITHUB}:sub")
        audience = get(conditions, "StringEquals", f"{GITHUB}:aud")
        subjects = items(subject)
        if get(conditions, "StringLike") is not None or not subjects:
            problems.append(
                "GitHub OIDC trust must pin the subject with StringEquals, never StringLike"
            )
        elif not all(isinstance(s, str) and GITHUB_SUBJECT.match(s) for s in subjects):
            problems.append(
                f"GitHub OIDC trust must name repo:<owner>/<name>:environment:<env>, got {subject}"
            )
        if audience != "sts.amazonaws.com":
            problems.append("GitHub OIDC trust must require the sts.amazonaws.com audience")
    if "pods.eks.amazonaws.com" in _principals(statement, "Service"):
        if get(conditions, "StringEquals", "aws:SourceAccount") is None:
            problems.append("Pod Identity trust must pin aws:SourceAccount")
        if get(conditions, "ArnEquals", "aws:SourceArn") is None:
            problems.append("Pod Identity trust must pin aws:SourceArn to the cluster")
    return problems


def trust_policies(typ: str, props: Props) -> list[str]:
    """Who may assume a role: named principals; GitHub and EKS held to one caller."""
    if typ != "aws:iam/role:Role":
        return []
    found = statements(get(props, "assumeRolePolicy"))
    if found is UNKNOWN:
        return []  # judged at `pulumi up`; see the module docstring
    return [p for statement in found for p in _trust_problems(statement)]


def _pull_request_trusted(props: Props) -> bool:
    found = statements(get(props, "assumeRolePolicy"))
    if found is UNKNOWN:
        return False
    subjects = [
        s
        for statement in found
        for s in items(get(statement, "Condition", "StringEquals", f"{GITHUB}:sub"))
    ]
    return any(isinstance(s, str) and s.endswith(":pull_request") for s in subjects)


def _denied(found: list[Any], action: str) -> bool:
    return any(
        get(statement, "Effect") == "Deny"
        and any(
            fnmatch.fnmatchcase(action.lower(), str(a).lower())
            for a in items(get(statement, "Action"))
        )
        and "*" in [str(r) for r in items(get(statement, "Resource"))]
        for statement in found
    )


def pull_request_roles_read_only(typ: str, props: Props) -> list[str]:
    """A role that pull requests may assume reads configuration only, never data.

    Unmerged code runs with it, so: inline policies only (nothing attached can widen it),
    every allowed action a Describe, Get or List, and every data read denied outright.
    """
    if typ != "aws:iam/role:Role" or not _pull_request_trusted(props):
        return []
    problems = []
    if items(get(props, "managedPolicyArns")):
        problems.append("a role trusted by pull requests must not carry managed policies")
    for doc in _documents(typ, props):
        found = statements(doc)
        if found is UNKNOWN:
            continue
        for statement in found:
            if get(statement, "Effect") != "Allow":
                continue
            if get(statement, "NotAction") is not None:
                problems.append("a role trusted by pull requests must not use NotAction")
            writes = [
                str(a) for a in items(get(statement, "Action")) if not READ_VERB.match(str(a))
            ]
            if writes:
                problems.append(f"a role trusted by pull requests may only read, not {writes}")
        undenied = [a for a in DATA_READS if not _denied(found, a)]
        if undenied:
            problems.append(f"a role trusted by pull requests must deny the data reads {undenied}")
    if not _documents(typ, props):
        problems.append("a role trusted by pull requests needs its read-only inline policy")
    return problems


def pull_request_roles_unattached(resources: list[Any]) -> list[str]:
    """Nothing outside the role itself attaches rights to a role that pull requests assume."""
    names = {
        get(r.props, "name")
        for r in resources
        if r.type == "aws:iam/role:Role" and _pull_request_trusted(r.props)
    }
    return [
        f"{r.name}: attaches rights to {get(r.props, 'role')}, which pull requests assume"
        for r in resources
        if r.type
        in (
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "aws:iam/rolePolicy:RolePolicy",
            "aws:iam/policyAttachment:PolicyAttachment",
        )
        and (
            get(r.props, "role") in names
            or any(role in names for role in items(get(r.props, "roles")))
        )
    ]
