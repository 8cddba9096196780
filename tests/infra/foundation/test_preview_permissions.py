"""The pull-request preview role: trusted by pull requests only, reads configuration, no data."""

from __future__ import annotations

import fnmatch
import json

import pytest

from infra.foundation.iam_delegation import DeployScope
from infra.foundation.preview_permissions import DATA_READS, preview_document
from infra.policy.iam_rules import READ_VERB
from infra.stack_file import STACKS

SCOPE = DeployScope(
    account_id="777788889999",
    region="eu-west-1",
    dr_region="eu-central-1",
    prefix="mlsys-prod",
    environment="prod",
)


def _decision(document: dict, action: str, resource: str) -> str:
    """IAM's evaluation for one action on one resource: explicit deny wins, then allow."""

    def matches(statement: dict) -> bool:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        return any(fnmatch.fnmatchcase(action, a) for a in actions) and any(
            fnmatch.fnmatchcase(resource, r) for r in statement["Resource"]
        )

    effects = {s["Effect"] for s in document["Statement"] if matches(s)}
    return "Deny" if "Deny" in effects else "Allow" if "Allow" in effects else "ImplicitDeny"


def test_every_allowed_action_is_a_read():
    for statement in preview_document(SCOPE)["Statement"]:
        if statement["Effect"] == "Allow":
            assert all(READ_VERB.match(a) for a in statement["Action"]), statement


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("s3:GetObject", "arn:aws:s3:::mlsys-prod-datasets/train.csv"),
        ("s3:GetObjectVersion", "arn:aws:s3:::mlsys-prod-backups/db.dump"),
        ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:777788889999:secret:x"),
        ("kms:Decrypt", "arn:aws:kms:eu-west-1:777788889999:key/k"),
        ("ecr:GetDownloadUrlForLayer", "arn:aws:ecr:eu-west-1:777788889999:repository/r"),
        ("ecr:GetAuthorizationToken", "*"),
        ("logs:GetLogEvents", "arn:aws:logs:eu-west-1:777788889999:log-group:g"),
        ("ec2:GetPasswordData", "arn:aws:ec2:eu-west-1:777788889999:instance/i"),
        ("ec2:RunInstances", "*"),
        ("iam:PutRolePolicy", "arn:aws:iam::777788889999:role/mlsys-prod-github-preview"),
        ("iam:CreatePolicyVersion", "arn:aws:iam::777788889999:policy/mlsys-prod-deploy-iam"),
        ("s3:PutObject", "arn:aws:s3:::mlsys-prod-datasets/x"),
        ("eks:UpdateClusterConfig", "arn:aws:eks:eu-west-1:777788889999:cluster/mlsys-prod"),
        ("rds:ModifyDBInstance", "arn:aws:rds:eu-west-1:777788889999:db:mlsys-prod-postgres"),
        # Another account's configuration is not this stack's to read.
        ("kms:GetKeyPolicy", "arn:aws:kms:eu-west-1:111122223333:key/k"),
    ],
)
def test_data_writes_and_other_accounts_are_refused(action, resource):
    assert _decision(preview_document(SCOPE), action, resource) != "Allow"


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("ec2:DescribeVpcs", "*"),
        ("eks:DescribeCluster", "arn:aws:eks:eu-west-1:777788889999:cluster/mlsys-prod"),
        ("iam:GetRole", "arn:aws:iam::777788889999:role/mlsys-prod-serving"),
        ("iam:GetRolePolicy", "arn:aws:iam::777788889999:role/mlsys-prod-serving"),
        ("kms:GetKeyPolicy", "arn:aws:kms:eu-west-1:777788889999:key/k"),
        ("s3:GetBucketPolicy", "arn:aws:s3:::mlsys-prod-datasets"),
        ("s3:ListBucket", "arn:aws:s3:::mlsys-prod-datasets"),
        ("rds:DescribeDBInstances", "*"),
        ("secretsmanager:DescribeSecret", "*"),
    ],
)
def test_the_configuration_a_preview_refreshes_is_readable(action, resource):
    assert _decision(preview_document(SCOPE), action, resource) == "Allow"


def test_every_data_read_is_denied_outright():
    deny = next(s for s in preview_document(SCOPE)["Statement"] if s["Effect"] == "Deny")
    assert deny["Resource"] == ["*"]
    assert set(deny["Action"]) == set(DATA_READS)


@pytest.mark.parametrize("stack", STACKS)
def test_the_preview_role_trusts_pull_requests_of_this_repository_only(plans, stack):
    plan = plans[stack]
    (role,) = [
        r
        for r in plan.of_type("aws:iam/role:Role")
        if r.inputs.get("name") == f"mlsys-{stack}-github-preview"
    ]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:example-org/mlsys:pull_request",
    }
    assert "managedPolicyArns" not in role.inputs
    (inline,) = role.inputs["inlinePolicies"]
    account = plan.outputs["ciPreviewRoleArn"].split(":")[4]
    # The document depends on the account and prefix only.
    scope = DeployScope(
        account_id=account,
        region="eu-west-1",
        dr_region=None,
        prefix=f"mlsys-{stack}",
        environment=stack,
    )
    assert json.loads(inline["policy"]) == preview_document(scope)
    assert plan.outputs["ciPreviewRoleArn"].endswith(f":role/mlsys-{stack}-github-preview")


@pytest.mark.parametrize("stack", STACKS)
def test_the_preview_role_may_view_the_cluster_but_not_administer_it(plans, stack):
    plan = plans[stack]
    preview_arn = plan.outputs["ciPreviewRoleArn"]
    policies = {
        a.inputs["policyArn"]
        for a in plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if a.inputs["principalArn"] == preview_arn
    }
    assert policies == {"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"}
