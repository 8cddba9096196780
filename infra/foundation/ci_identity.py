"""CI identity: GitHub's OIDC provider and this environment's deploy role."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.foundation import iam_documents as iam
from infra.renames import with_former_type

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


@dataclass(frozen=True, kw_only=True)
class CiIdentityArgs:
    prefix: str
    account_id: str
    repository: str
    environment: str
    existing_provider_arn: str | None
    tags: dict[str, str]


def deploy_permissions(account_id: str, prefix: str) -> dict[str, object]:
    """IAM changes only on this project's own roles, policies and the GitHub provider."""
    return iam.document(
        iam.allow(
            [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:UpdateRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:PassRole",
                "iam:PutRolePolicy",
                "iam:GetRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:ListRolePolicies",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:UpdateAssumeRolePolicy",
                "iam:ListInstanceProfilesForRole",
            ],
            [f"arn:aws:iam::{account_id}:role/{prefix}-*"],
        ),
        iam.allow(
            [
                "iam:GetOpenIDConnectProvider",
                "iam:CreateOpenIDConnectProvider",
                "iam:TagOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
            ],
            [f"arn:aws:iam::{account_id}:oidc-provider/token.actions.githubusercontent.com"],
        ),
        iam.allow(
            ["iam:CreateServiceLinkedRole"], [f"arn:aws:iam::{account_id}:role/aws-service-role/*"]
        ),
    )


class CiIdentity(pulumi.ComponentResource):
    deploy_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CiIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(
            "mlsys:foundation:CiIdentity",
            name,
            None,
            with_former_type("mlsys:identity:CiIdentity", opts),
        )
        child = pulumi.ResourceOptions(parent=self)
        if args.existing_provider_arn:
            provider_arn: pulumi.Input[str] = args.existing_provider_arn
        else:
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-github-oidc",
                url=GITHUB_ISSUER,
                client_id_lists=["sts.amazonaws.com"],
                tags=args.tags,
                opts=child,
            )
            provider_arn = provider.arn
        role = aws.iam.Role(
            f"{name}-deploy",
            name=f"{args.prefix}-github-deploy",
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: json.dumps(
                    iam.github_oidc_trust(arn, args.repository, args.environment)
                )
            ),
            max_session_duration=3600,
            tags=args.tags,
            opts=child,
        )
        # Service-level rights come from PowerUserAccess (no IAM); IAM rights are held to
        # this project's own names by the inline policy.
        aws.iam.RolePolicyAttachment(
            f"{name}-deploy-poweruser",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/PowerUserAccess",
            opts=pulumi.ResourceOptions(parent=role),
        )
        aws.iam.RolePolicy(
            f"{name}-deploy-iam",
            role=role.id,
            policy=json.dumps(deploy_permissions(args.account_id, args.prefix)),
            opts=pulumi.ResourceOptions(parent=role),
        )
        self.deploy_role_arn = role.arn
        self.register_outputs({"deploy_role_arn": self.deploy_role_arn})
