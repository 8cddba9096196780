"""Customer managed KMS keys, all with the same safety settings and an explicit key policy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

# Administration: what the admin and deploy roles may do. Neither can use the key's data.
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
]
# Destroying or switching off a key loses every object it protects: the admin role only.
KEY_DESTRUCTIVE_ACTIONS = [
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "kms:DeleteImportedKeyMaterial",
]
# Use: what IAM policies in the account may grant, never administration.
KEY_USE_ACTIONS = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
]


@dataclass(frozen=True, kw_only=True)
class KeyAdmins:
    """Who administers keys: the break-glass admin role and this environment's deploy role."""

    account_id: str
    admin_role_arn: str
    deploy_role_arn: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class KeyUse:
    """Who may use a key beyond the account's IAM policies (services, or named roles only)."""

    delegate_to_iam: bool = True  # False: only the statements in ``extra`` grant use
    log_service_region: str | None = None  # CloudWatch Logs in this region encrypts with it
    extra: list[Any] = field(default_factory=list)


def key_policy(account_id: str, admin_arn: str, deploy_arn: str, use: KeyUse) -> dict[str, Any]:
    """Administration and use separated: the root principal may only delegate use to IAM."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "KeyAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": sorted({admin_arn, deploy_arn})},
            "Action": KEY_ADMIN_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "OnlyTheAdminRoleDestroys",
            "Effect": "Deny",
            "Principal": {"AWS": deploy_arn},
            "Action": KEY_DESTRUCTIVE_ACTIONS,
            "Resource": "*",
        },
    ]
    if use.delegate_to_iam:
        statements += [
            {
                "Sid": "UseThroughIamPolicies",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": KEY_USE_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "GrantsOnlyForAwsServices",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ]
    if use.log_service_region:
        region = use.log_service_region
        statements.append(
            {
                "Sid": "CloudWatchLogsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": KEY_USE_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:aws:logs:{region}:{account_id}:log-group:*"
                        )
                    }
                },
            }
        )
    statements += use.extra
    return {"Version": "2012-10-17", "Statement": statements}


def policy_output(admins: KeyAdmins, use: KeyUse) -> pulumi.Output[str]:
    return pulumi.Output.all(admins.deploy_role_arn, *_extra_inputs(use)).apply(
        lambda a: json.dumps(
            key_policy(admins.account_id, admins.admin_role_arn, a[0], _resolved(use, a[1:]))
        )
    )


def _extra_inputs(use: KeyUse) -> Sequence[Any]:
    return [pulumi.Output.from_input(s) for s in use.extra]


def _resolved(use: KeyUse, extra: Sequence[Any]) -> KeyUse:
    return KeyUse(
        delegate_to_iam=use.delegate_to_iam,
        log_service_region=use.log_service_region,
        extra=list(extra),
    )


def customer_key(
    name: str,
    description: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    *,
    admins: KeyAdmins,
    use: KeyUse | None = None,
    region: str | None = None,
) -> aws.kms.Key:
    """Yearly rotation, and a 30-day window in which a scheduled deletion can be cancelled."""
    return aws.kms.Key(
        name,
        description=description,
        region=region,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy_output(admins, use or KeyUse()),
        tags=tags,
        opts=opts,
    )


def signing_key(
    name: str,
    description: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    *,
    admins: KeyAdmins,
    signers: Sequence[pulumi.Input[str]],
    verifiers: Sequence[pulumi.Input[str]],
) -> aws.kms.Key:
    """An asymmetric P-256 key: signers sign, verifiers verify; no IAM policy can add more.

    AWS rotates no asymmetric key; a new key version is a new key and a new output value.
    """
    use = KeyUse(
        delegate_to_iam=False,
        extra=[
            pulumi.Output.all(*signers).apply(
                lambda arns: _named_use("Sign", arns, ["kms:Sign", "kms:GetPublicKey"])
            ),
            pulumi.Output.all(*verifiers).apply(
                lambda arns: _named_use("Verify", arns, ["kms:Verify", "kms:GetPublicKey"])
            ),
        ],
    )
    return aws.kms.Key(
        name,
        description=description,
        key_usage="SIGN_VERIFY",
        customer_master_key_spec="ECC_NIST_P256",
        enable_key_rotation=False,
        deletion_window_in_days=30,
        policy=policy_output(admins, use),
        tags=tags,
        opts=opts,
    )


def _named_use(sid: str, principals: list[str], actions: list[str]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": sorted(principals)},
        "Action": [*actions, "kms:DescribeKey"],
        "Resource": "*",
    }
