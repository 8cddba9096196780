"""Image repositories: one ECR repository per image, immutable, scanned, KMS, lifecycle."""

from __future__ import annotations

import json

import pytest

from infra.foundation.image_repositories import IMAGES, cross_account_pull_policy, lifecycle_policy
from infra.stack_file import STACKS


def test_lifecycle_expires_untagged_first_then_keeps_the_newest():
    rules = lifecycle_policy(keep_tagged=10, untagged_days=3)["rules"]
    assert [r["rulePriority"] for r in rules] == [1, 2]
    assert rules[0]["selection"]["tagStatus"] == "untagged"
    assert rules[0]["selection"]["countNumber"] == 3
    assert rules[1]["selection"]["countNumber"] == 10


def test_repositories_are_immutable_scanned_and_encrypted(plans):
    plan = plans["prod"]
    repos = plan.of_type("aws:ecr/repository:Repository")
    assert sorted(r.inputs["name"] for r in repos) == [f"mlsys-prod-{i}" for i in sorted(IMAGES)]
    for repo in repos:
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repo.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    for policy in plan.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        assert json.loads(policy.inputs["policy"]) == lifecycle_policy()


@pytest.mark.parametrize("stack", STACKS)
def test_images_replicate_to_the_dr_region_in_prod_only(plans, stack):
    found = plans[stack].of_type("aws:ecr/replicationConfiguration:ReplicationConfiguration")
    if stack != "prod":
        assert found == []
        return
    (config,) = found
    assert config.inputs["replicationConfiguration"] == {
        "rules": [
            {
                "destinations": [{"region": "eu-central-1", "registryId": "777788889999"}],
                "repositoryFilters": [{"filter": "mlsys-prod-", "filterType": "PREFIX_MATCH"}],
            }
        ]
    }


def test_other_accounts_may_pull_by_digest_and_nothing_else():
    (statement,) = cross_account_pull_policy(("777788889999", "123456789012"))["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {
        "AWS": ["arn:aws:iam::123456789012:root", "arn:aws:iam::777788889999:root"]
    }
    assert sorted(statement["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_prod_pulls_the_digests_ci_pushed_to_staging(plans, stack):
    policies = plans[stack].of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")
    if stack != "staging":
        assert policies == []
        return
    assert sorted(p.inputs["repository"] for p in policies) == [
        f"mlsys-staging-{i}" for i in sorted(IMAGES)
    ]
    for policy in policies:
        assert json.loads(policy.inputs["policy"]) == cross_account_pull_policy(("777788889999",))
