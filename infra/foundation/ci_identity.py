"""CI identity: GitHub's OIDC provider, this environment's deploy role and the role boundary.

An administrator creates and changes this component (the deploy role may not touch itself,
its policies or the boundary); every other role in the stack carries the boundary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.foundation import iam_documents as iam
from infra.foundation.deploy_permissions import DeployScope, deploy_documents, role_boundary
from infra.foundation.preview_permissions import preview_document
from infra.renames import with_former_type

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


@dataclass(frozen=True, kw_only=True)
class CiIdentityArgs:
    scope: DeployScope
    repository: str
    existing_provider_arn: str | None
    tags: dict[str, str]


class CiIdentity(pulumi.ComponentResource):
    deploy_role_arn: pulumi.Output[str]
    preview_role_arn: pulumi.Output[str]
    boundary_arn: pulumi.Output[str]

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
        scope = args.scope
        boundary = aws.iam.Policy(
            f"{name}-role-boundary",
            name=scope.boundary_name,
            description="Ceiling of every role this stack creates (delegated administration)",
            policy=json.dumps(role_boundary(scope)),
            tags=args.tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-deploy",
            name=scope.deploy_role_name,
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: json.dumps(
                    iam.github_oidc_trust(arn, args.repository, scope.environment)
                )
            ),
            max_session_duration=3600,
            tags=args.tags,
            opts=child,
        )
        # Scoped managed policies instead of PowerUserAccess: this stack's names and tags only.
        for purpose, doc in deploy_documents(scope).items():
            policy = aws.iam.Policy(
                f"{name}-deploy-{purpose}",
                name=f"{scope.prefix}-deploy-{purpose}",
                policy=json.dumps(doc),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=role),
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-deploy-{purpose}",
                role=role.name,
                policy_arn=policy.arn,
                opts=pulumi.ResourceOptions(parent=role),
            )
        self.deploy_role_arn = role.arn
        self.boundary_arn = boundary.arn
        self.preview_role_arn = self._preview_role(name, args, provider_arn, boundary).arn
        self.register_outputs(
            {"deploy_role_arn": self.deploy_role_arn, "preview_role_arn": self.preview_role_arn}
        )

    def _preview_role(
        self,
        name: str,
        args: CiIdentityArgs,
        provider_arn: pulumi.Input[str],
        boundary: aws.iam.Policy,
    ) -> aws.iam.Role:
        """Pull requests preview with read-only rights, outside any GitHub environment.

        Deployment environments keep their branch rules and reviewers for deploys; a
        preview needs neither, because this role can change nothing. Its rights are
        inline, so nothing attached elsewhere can widen them, and the deploy role is
        denied every change to it.
        """
        scope = args.scope
        return aws.iam.Role(
            f"{name}-preview",
            name=scope.preview_role_name,
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: json.dumps(iam.github_pull_request_trust(arn, args.repository))
            ),
            inline_policies=[
                {"name": "read-configuration", "policy": json.dumps(preview_document(scope))}
            ],
            permissions_boundary=boundary.arn,
            max_session_duration=3600,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
