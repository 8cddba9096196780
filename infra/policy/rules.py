"""The guardrail catalogue: every rule by name, and one call that runs them all over a plan.

Each resource rule takes ``(type, props)`` (props camelCase, as Pulumi hands them to a policy
pack) and returns its violations as sentences; each stack rule takes every resource at once.
Nothing here imports Pulumi, so the tests and the CLI run the same functions over the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.policy.bucket_rules import (
    PlannedResource,
    buckets_fully_guarded,
    replicated_buckets,
    tls_only_buckets,
)
from infra.policy.iam_rules import (
    managed_policies,
    no_star_resources,
    pull_request_roles_read_only,
    pull_request_roles_unattached,
    trust_policies,
)
from infra.policy.resource_rules import (
    encrypted_storage,
    no_open_ingress,
    no_public_bucket,
    no_public_database,
    production_database,
    required_tags,
)

__all__ = [
    "RESOURCE_RULES",
    "STACK_RULES",
    "PlannedResource",
    "buckets_fully_guarded",
    "check_all",
    "encrypted_storage",
    "managed_policies",
    "no_open_ingress",
    "no_public_bucket",
    "no_public_database",
    "no_star_resources",
    "production_database",
    "pull_request_roles_read_only",
    "pull_request_roles_unattached",
    "replicated_buckets",
    "required_tags",
    "tls_only_buckets",
    "trust_policies",
]

ResourceRule = Callable[[str, Any], list[str]]
StackRule = Callable[[list[PlannedResource]], list[str]]

RESOURCE_RULES: dict[str, tuple[str, ResourceRule]] = {
    "encrypted-storage": (
        "RDS, EBS, EKS secrets, secrets, log groups and images encrypted with customer keys.",
        encrypted_storage,
    ),
    "no-public-database": ("Databases are never publicly accessible.", no_public_database),
    "no-public-bucket": ("S3 public access blocks are fully on.", no_public_bucket),
    "required-tags": ("project, environment, owner and cost-center tags.", required_tags),
    "production-database": (
        "Prod RDS: deletion protection, Multi-AZ, >= 14 days of backups, a final snapshot.",
        production_database,
    ),
    "no-star-resources": ("IAM statements are scoped to ARNs or tags.", no_star_resources),
    "managed-policies": ("No broad AWS managed policy is attached.", managed_policies),
    "trust-policies": ("Roles trust named callers, pinned by condition.", trust_policies),
    "pull-request-roles-read-only": (
        "A role pull requests assume reads configuration, never data, and writes nothing.",
        pull_request_roles_read_only,
    ),
    "no-open-ingress": ("Nothing admits 0.0.0.0/0.", no_open_ingress),
}
STACK_RULES: dict[str, tuple[str, StackRule]] = {
    "tls-only-buckets": ("Every bucket denies non-TLS requests.", tls_only_buckets),
    "buckets-fully-guarded": (
        "Every bucket is encrypted with a customer key, versioned and private.",
        buckets_fully_guarded,
    ),
    "replicated-buckets": ("Prod buckets replicate to the DR region.", replicated_buckets),
    "pull-request-roles-unattached": (
        "No policy is attached to a role that pull requests assume.",
        pull_request_roles_unattached,
    ),
}


def check_all(resources: list[PlannedResource]) -> list[str]:
    """Every violation of every rule, as '<rule>: <resource>: <message>'."""
    found = []
    for rule_name, (_, rule) in RESOURCE_RULES.items():
        for resource in resources:
            found += [
                f"{rule_name}: {resource.name}: {m}" for m in rule(resource.type, resource.props)
            ]
    for rule_name, (_, stack_rule) in STACK_RULES.items():
        found += [f"{rule_name}: {m}" for m in stack_rule(resources)]
    return found
