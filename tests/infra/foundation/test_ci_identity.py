"""CI identity: the deploy role trusts one repository and environment; IAM held to our names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.foundation.ci_identity import deploy_permissions
from infra.stack_file import STACKS


def test_iam_rights_are_limited_to_this_projects_roles():
    document: Any = deploy_permissions("111122223333", "mlsys-prod")
    role_statement = document["Statement"][0]
    assert role_statement["Resource"] == ["arn:aws:iam::111122223333:role/mlsys-prod-*"]
    assert all(r != "*" for s in document["Statement"] for r in s["Resource"])


@pytest.mark.parametrize("stack", STACKS)
def test_ci_role_trusts_only_this_repository_and_environment(plans, stack):
    role = next(
        r
        for r in plans[stack].of_type("aws:iam/role:Role")
        if r.inputs.get("name") == f"mlsys-{stack}-github-deploy"
    )
    condition = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]
    assert condition["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
        f"repo:example-org/mlsys:environment:{stack}"
    )
    providers = plans[stack].of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert len(providers) == (1 if stack == "dev" else 0)  # staging/prod reuse the account's
    assert plans[stack].outputs["ciDeployRoleArn"].endswith(f":role/mlsys-{stack}-github-deploy")
