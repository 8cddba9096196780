"""Customer managed keys: rotation, a deletion window, and administration apart from use."""

from __future__ import annotations

import json

import pytest

from infra.foundation.kms import KEY_ADMIN_ACTIONS, KeyUse, key_policy
from infra.stack_file import STACKS

ADMIN = "arn:aws:iam::111122223333:role/platform-admin"
DEPLOY = "arn:aws:iam::111122223333:role/mlsys-dev-github-deploy"


def test_the_account_may_delegate_use_but_never_administration():
    policy = key_policy("111122223333", ADMIN, DEPLOY, KeyUse())
    root = [
        s
        for s in policy["Statement"]
        if s["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    ]
    granted = {a for s in root for a in s["Action"]}
    assert granted and not granted & {
        "kms:*",
        "kms:ScheduleKeyDeletion",
        "kms:DisableKey",
        "kms:PutKeyPolicy",
    }
    (admin,) = [s for s in policy["Statement"] if s["Sid"] == "KeyAdministration"]
    assert admin["Principal"] == {"AWS": sorted([ADMIN, DEPLOY])}
    assert admin["Action"] == KEY_ADMIN_ACTIONS and "kms:Decrypt" not in admin["Action"]
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Principal"] == {"AWS": DEPLOY} and "kms:ScheduleKeyDeletion" in deny["Action"]


def test_log_keys_admit_cloudwatch_logs_of_this_account_only():
    policy = key_policy("111122223333", ADMIN, DEPLOY, KeyUse(log_service_region="eu-west-1"))
    (logs,) = [s for s in policy["Statement"] if s["Sid"] == "CloudWatchLogsOfThisAccount"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"].startswith(
        "arn:aws:logs:eu-west-1:111122223333:"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_every_key_has_a_policy_rotation_and_a_deletion_window(plans, stack):
    keys = plans[stack].of_type("aws:kms/key:Key")
    # storage, database, images, cluster secrets, cluster logs, flow logs, vault, model
    # signing; prod adds the S3 and database keys in the DR region.
    assert len(keys) == (10 if stack == "prod" else 8)
    for key in keys:
        assert key.inputs["deletionWindowInDays"] == 30
        policy = json.loads(key.inputs["policy"])
        assert any(s.get("Sid") == "KeyAdministration" for s in policy["Statement"])
        symmetric = key.inputs.get("keyUsage") != "SIGN_VERIFY"
        assert key.inputs["enableKeyRotation"] is symmetric  # AWS rotates no asymmetric key


def test_the_model_signing_key_signs_for_training_and_verifies_for_serving(plans):
    plan = plans["prod"]
    (key,) = [
        k for k in plan.of_type("aws:kms/key:Key") if k.inputs.get("keyUsage") == "SIGN_VERIFY"
    ]
    assert key.inputs["customerMasterKeySpec"] == "ECC_NIST_P256"
    assert plan.outputs["modelSigningKeyArn"].startswith("arn:aws:kms:eu-west-1:777788889999:key/")
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    roles = plan.outputs["podIdentityRoleArns"]
    assert statements["Sign"]["Principal"] == {"AWS": [roles["training"]]}
    assert set(statements["Sign"]["Action"]) == {"kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"}
    assert statements["Verify"]["Principal"] == {"AWS": [roles["serving"]]}
    assert set(statements["Verify"]["Action"]) == {
        "kms:Verify",
        "kms:GetPublicKey",
        "kms:DescribeKey",
    }
    # No statement lets IAM policies in the account add signers.
    assert "UseThroughIamPolicies" not in statements
    assert not any("kms:Sign" in s["Action"] for sid, s in statements.items() if sid != "Sign")
