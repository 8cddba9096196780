"""CI identity: the deploy role trusts one repository and environment, inside delegated admin."""

from __future__ import annotations

import json

import pytest

from infra.foundation.deploy_permissions import AWS_MANAGED_POLICIES
from infra.stack_file import STACKS


def _deploy_role(plan, stack):
    (role,) = [
        r
        for r in plan.of_type("aws:iam/role:Role")
        if r.inputs.get("name") == f"mlsys-{stack}-github-deploy"
    ]
    return role


@pytest.mark.parametrize("stack", STACKS)
def test_ci_role_trusts_only_this_repository_and_environment(plans, stack):
    role = _deploy_role(plans[stack], stack)
    condition = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]
    assert condition["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
        f"repo:example-org/mlsys:environment:{stack}"
    )
    # One account per environment: each stack creates its own account's provider.
    providers = plans[stack].of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert len(providers) == 1
    assert plans[stack].outputs["ciDeployRoleArn"].endswith(f":role/mlsys-{stack}-github-deploy")


@pytest.mark.parametrize("stack", STACKS)
def test_no_broad_aws_managed_policy_and_every_other_role_has_the_boundary(plans, stack):
    plan = plans[stack]
    attached = {
        a.inputs["policyArn"]
        for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    aws_managed = {arn for arn in attached if arn.startswith("arn:aws:iam::aws:")}
    assert aws_managed <= set(AWS_MANAGED_POLICIES)
    assert not any("PowerUser" in a or "AdministratorAccess" in a for a in attached)
    account = plan.outputs["ciDeployRoleArn"].split(":")[4]
    boundary = f"arn:aws:iam::{account}:policy/mlsys-{stack}-role-boundary"
    for role in plan.of_type("aws:iam/role:Role"):
        if role.inputs.get("name") == f"mlsys-{stack}-github-deploy":
            assert "permissionsBoundary" not in role.inputs  # an administrator's role
        else:
            assert role.inputs["permissionsBoundary"] == boundary, role.name
