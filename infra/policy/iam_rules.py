"""IAM guardrails: scoped grants, no broad managed policies, trust only the intended callers.

An IAM document built from the ARNs of resources created in the same run is UNKNOWN at
preview. Those are not judged then (they are pure functions with their own tests), and
CrossGuard judges them again during `pulumi up`, with the values known, before they apply.
"""

from __future__ import annotations

import re
from typing import Any

from infra.foundation.deploy_permissions import AWS_MANAGED_POLICIES, EC2_DESCRIBE
from infra.policy.values import UNKNOWN, get, items, statements

Props = Any
# Actions AWS evaluates only against "*": they take no resource ARN.
NO_RESOURCE_ACTIONS = frozenset(
    {
        *EC2_DESCRIBE,
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
GITHUB_SUBJECT = re.compile(r"^repo:[A-Za-z0-9-]+/[A-Za-z0-9._-]+:environment:[a-z0-9-]+$")
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
    if broad:
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
