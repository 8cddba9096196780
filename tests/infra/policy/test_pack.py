"""The CrossGuard pack: each policy reports exactly what its plain rule finds."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from infra.policy.pack import build_policies
from infra.policy.rules import RESOURCE_RULES, STACK_RULES


def test_there_is_one_policy_per_rule():
    assert {p.name for p in build_policies()} == set(RESOURCE_RULES) | set(STACK_RULES)


def test_crossguard_policies_report_what_the_rules_find():
    policies: dict[str, Any] = {p.name: p for p in build_policies()}
    assert set(policies) >= {"encrypted-storage", "tls-only-buckets", "required-tags"}
    reported: list[str] = []
    args = SimpleNamespace(
        resource_type="aws:rds/instance:Instance",
        props={"storageEncrypted": False, "publiclyAccessible": True},
    )
    for name in ("encrypted-storage", "no-public-database"):
        policies[name].validate(args, lambda message, urn=None: reported.append(message))
    assert reported == [
        "RDS storage must be encrypted (storageEncrypted)",
        "RDS instances must not be publicly accessible",
    ]
    stack = SimpleNamespace(
        resources=[
            SimpleNamespace(resource_type="aws:s3/bucket:Bucket", name="b", props={"bucket": "b1"})
        ]
    )
    reported.clear()
    policies["tls-only-buckets"].validate(stack, lambda message, urn=None: reported.append(message))
    assert reported == ["bucket b1 has no bucket policy denying non-TLS requests"]
