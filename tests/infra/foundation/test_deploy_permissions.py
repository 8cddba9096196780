"""Deploy permissions: delegated IAM administration, and nothing on another stack's resources."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from infra.foundation.deploy_permissions import (
    AWS_MANAGED_POLICIES,
    DeployScope,
    deploy_documents,
    iam_administration,
    role_boundary,
)
from infra.policy.iam_rules import NO_RESOURCE_ACTIONS

PROD = DeployScope(
    account_id="777788889999",
    region="eu-west-1",
    dr_region="eu-central-1",
    prefix="mlsys-prod",
    environment="prod",
)
# dev's documents as if dev shared prod's account: isolation must not rest on accounts alone.
DEV_IN_PROD_ACCOUNT = DeployScope(
    account_id="777788889999",
    region="eu-west-1",
    dr_region=None,
    prefix="mlsys-dev",
    environment="dev",
)


def _statements(document: dict[str, Any], sid: str) -> dict[str, Any]:
    (found,) = [s for s in document["Statement"] if s.get("Sid") == sid]
    return found


def test_roles_are_created_and_changed_only_with_the_boundary():
    document = iam_administration(PROD)
    statement = _statements(document, "RolesOnlyWithTheBoundary")
    assert {"iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"} <= set(
        statement["Action"]
    )
    boundary = "arn:aws:iam::777788889999:policy/mlsys-prod-role-boundary"
    assert statement["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    attach = _statements(document, "OnlyTheProgramsManagedPolicies")
    assert attach["Condition"]["StringEquals"] == {"iam:PermissionsBoundary": boundary}
    assert attach["Condition"]["ArnEquals"]["iam:PolicyARN"] == list(AWS_MANAGED_POLICIES)
    assert not any("AdministratorAccess" in p or "PowerUser" in p for p in AWS_MANAGED_POLICIES)
    # No other statement may create, attach or put without the condition.
    for s in document["Statement"]:
        risky = {"iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"} & set(s["Action"])
        if s["Effect"] == "Allow" and risky:
            assert s["Condition"]["StringEquals"]["iam:PermissionsBoundary"] == boundary


def test_the_deploy_role_cannot_change_itself_the_preview_role_its_policies_or_the_boundary():
    document = iam_administration(PROD)
    itself = _statements(document, "NeverChangeTheCiRoles")
    assert itself["Effect"] == "Deny"
    assert itself["Resource"] == [
        "arn:aws:iam::777788889999:role/mlsys-prod-github-deploy",
        "arn:aws:iam::777788889999:role/mlsys-prod-github-preview",
    ]
    assert {
        "iam:AttachRolePolicy",
        "iam:PutRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:DeleteRolePermissionsBoundary",
        "iam:PassRole",
    } <= set(itself["Action"])
    policies = _statements(document, "NeverChangeTheBoundaryOrItsOwnPolicies")
    assert policies["Effect"] == "Deny"
    assert fnmatch.fnmatchcase(PROD.boundary_arn, policies["Resource"][0])
    assert {"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"} <= set(policies["Action"])
    assert _statements(document, "NeverRemoveABoundary")["Effect"] == "Deny"


def test_pass_role_only_to_the_programs_services():
    passing = [s for s in iam_administration(PROD)["Statement"] if "iam:PassRole" in s["Action"]]
    allows = [s for s in passing if s["Effect"] == "Allow"]
    assert len(allows) == 1
    services = allows[0]["Condition"]["StringEquals"]["iam:PassedToService"]
    assert "eks.amazonaws.com" in services and "*" not in json.dumps(services)


@pytest.mark.parametrize("purpose", ["iam", "network-cluster", "data-keys"])
def test_each_managed_policy_fits_iams_size_limit(purpose):
    document = deploy_documents(PROD)[purpose]
    assert len(json.dumps(document, separators=(",", ":"))) < 6144


def _allows(statement: dict[str, Any], arn: str, tags: dict[str, str]) -> bool:
    """Could ``statement`` grant an action that takes a resource on ``arn``?"""
    if statement["Effect"] != "Allow":
        return False
    if set(statement["Action"]) <= NO_RESOURCE_ACTIONS:
        return False  # these take no resource at all: nothing to isolate
    if not any(fnmatch.fnmatchcase(arn, pattern) for pattern in statement["Resource"]):
        return False
    for operator, block in statement.get("Condition", {}).items():
        for key, wanted in block.items():
            wanted_values = wanted if isinstance(wanted, list) else [wanted]
            if key == "aws:ResourceTag/environment":
                if tags.get("environment") not in wanted_values:
                    return False
            elif key.startswith(("aws:RequestTag/", "ec2:CreateAction")):
                return False  # applies only to resources being created, tagged as asked
            elif key == "iam:PermissionsBoundary" or operator.startswith("ForAnyValue"):
                continue  # narrows, never widens: assume it holds
    return True


def test_dev_is_granted_nothing_on_prod_resources(plans):
    """Every prod resource with an ARN, and prod's tags: dev's documents match none."""
    prod = plans["prod"]
    targets = [
        (r.outputs.get("arn") or f"arn:aws:s3:::{r.inputs['bucket']}", r.inputs.get("tags") or {})
        for r in prod.resources
        if r.type.startswith("aws:")
        and (r.outputs.get("arn") or r.type == "aws:s3/bucket:Bucket")
        # One per account, not prod's: in a shared account dev may read (only read) it.
        and r.type != "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
    ]
    assert len(targets) > 50
    granted = [
        (sid, arn)
        for document in deploy_documents(DEV_IN_PROD_ACCOUNT).values()
        for statement in document["Statement"]
        for arn, tags in targets
        if _allows(statement, arn, tags) and (sid := statement.get("Sid"))
    ]
    assert granted == []


def test_the_same_check_sees_a_leak():
    """The evaluator above is not blind: dev's documents do grant on dev's own resources."""
    documents = deploy_documents(DEV_IN_PROD_ACCOUNT).values()
    bucket = ("arn:aws:s3:::mlsys-dev-datasets-777788889999-eu-west-1", {"environment": "dev"})
    key = ("arn:aws:kms:eu-west-1:777788889999:key/abc", {"environment": "dev"})
    for arn, tags in (bucket, key):
        assert any(_allows(s, arn, tags) for d in documents for s in d["Statement"])


def test_the_boundary_grants_no_iam_beyond_service_linked_roles_and_node_profiles():
    """Karpenter needs instance profiles for its nodes and to hand them the node role; no
    role inside the boundary can create or change a role or a policy."""
    statements = role_boundary(PROD)["Statement"]
    actions = {a for s in statements for a in s["Action"]}
    assert {a for a in actions if a.startswith("iam:")} == {
        "iam:CreateServiceLinkedRole",
        "iam:ListInstanceProfiles",
        "iam:GetInstanceProfile",
        "iam:CreateInstanceProfile",
        "iam:TagInstanceProfile",
        "iam:AddRoleToInstanceProfile",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteInstanceProfile",
        "iam:PassRole",
    }
    owned = "kubernetes.io/cluster/mlsys-prod"
    for statement in statements:
        writes = [
            a
            for a in statement["Action"]
            if a.startswith("iam:") and not a.startswith(("iam:Get", "iam:List"))
        ]
        if not writes or writes == ["iam:CreateServiceLinkedRole"]:
            continue
        if writes == ["iam:PassRole"]:
            assert statement["Resource"] == ["arn:aws:iam::777788889999:role/mlsys-prod-*"]
            assert statement["Condition"] == {
                "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}
            }
            continue
        assert statement["Resource"] == ["arn:aws:iam::777788889999:instance-profile/*"]
        (tags,) = statement["Condition"].values()
        assert tags in ({f"aws:RequestTag/{owned}": "owned"}, {f"aws:ResourceTag/{owned}": "owned"})


def test_the_node_autoscaler_reaches_only_this_stacks_queue_and_rules():
    network = deploy_documents(PROD)["network-cluster"]
    queue = _statements(network, "InterruptionQueue")
    assert queue["Resource"] == [
        "arn:aws:sqs:eu-west-1:777788889999:mlsys-prod-karpenter",
        "arn:aws:sqs:eu-central-1:777788889999:mlsys-prod-karpenter",
    ]
    rules = _statements(network, "InterruptionRules")
    assert all(r.endswith(":rule/mlsys-prod-karpenter-*") for r in rules["Resource"])
    boundary = _statements(role_boundary(PROD), "InterruptionQueue")
    assert boundary["Action"] == ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
    assert boundary["Resource"] == ["arn:aws:sqs:*:777788889999:mlsys-prod-karpenter"]
    # The deploy role still creates no instance profile: Karpenter makes its own.
    deploy_actions = {
        a for d in deploy_documents(PROD).values() for s in d["Statement"] for a in s["Action"]
    }
    assert not any(
        "InstanceProfile" in a for a in deploy_actions if a != "iam:ListInstanceProfilesForRole"
    )


def test_the_boundary_allows_dns_challenges_but_no_zone_or_domain_changes():
    actions = {a for s in role_boundary(PROD)["Statement"] for a in s["Action"]}
    assert {a for a in actions if a.startswith("route53")} == {
        "route53:ChangeResourceRecordSets",
        "route53:GetChange",
        "route53:ListResourceRecordSets",
    }
