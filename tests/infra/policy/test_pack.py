"""The CrossGuard pack through pulumi_policy's own analyzer, with preview's unknown values."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE

from infra.policy.pack import PACK_NAME, build_policies
from infra.policy.rules import RESOURCE_RULES, STACK_RULES

TAGS = {"project": "mlsys", "environment": "prod", "owner": "ml", "cost-center": "cc"}


def _analyzer() -> Any:
    return _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", build_policies(), EnforcementLevel.MANDATORY)


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(props, struct_pb2.Struct())


def _analyze(typ: str, props: dict[str, Any]) -> list[Any]:
    request = proto.AnalyzeRequest(
        type=typ, properties=_struct(props), urn=f"urn:pulumi:prod::mlsys::{typ}::x", name="x"
    )
    return list(_analyzer().Analyze(request, None).diagnostics)


def _mandatory(diagnostics: list[Any]) -> list[str]:
    """What each mandatory violation says (CrossGuard puts the policy description first)."""
    return [
        line
        for d in diagnostics
        if d.enforcementLevel == proto.MANDATORY
        for line in d.message.splitlines()[1:]
    ]


def test_there_is_one_policy_per_rule():
    assert {p.name for p in build_policies()} == set(RESOURCE_RULES) | set(STACK_RULES)


def test_an_unknown_property_a_rule_does_not_read_changes_nothing():
    """A new RDS instance at preview: its key is unknown, its publicity is not."""
    diagnostics = _analyze(
        "aws:rds/instance:Instance",
        {
            "kmsKeyId": UNKNOWN_STRING_VALUE,
            "dbSubnetGroupName": UNKNOWN_STRING_VALUE,
            "storageEncrypted": True,
            "publiclyAccessible": True,
            "deletionProtection": True,
            "multiAz": True,
            "backupRetentionPeriod": 30,
            "skipFinalSnapshot": False,
            "tags": TAGS,
        },
    )
    assert not any("can't run policy" in d.message for d in diagnostics)
    assert _mandatory(diagnostics) == [
        "RDS instances must not be publicly accessible (a literal false)"
    ]


def test_an_unknown_safety_switch_is_refused_not_waved_through():
    diagnostics = _analyze(
        "aws:rds/instance:Instance",
        {
            "storageEncrypted": UNKNOWN_BOOLEAN_VALUE,
            "publiclyAccessible": False,
            "deletionProtection": True,
            "multiAz": True,
            "backupRetentionPeriod": 30,
            "skipFinalSnapshot": False,
            "tags": TAGS,
        },
    )
    assert _mandatory(diagnostics) == [
        "RDS storage must be encrypted (storageEncrypted must be known at preview)"
    ]


def test_an_unknown_document_is_left_to_pulumi_up_and_a_known_one_is_judged():
    policy = "aws:iam/rolePolicy:RolePolicy"
    assert _analyze(policy, {"role": UNKNOWN_STRING_VALUE, "policy": UNKNOWN_STRING_VALUE}) == []
    broad = '{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"}]}'
    (message,) = _mandatory(_analyze(policy, {"role": UNKNOWN_STRING_VALUE, "policy": broad}))
    assert "must be scoped" in message


def test_stack_policies_link_a_new_bucket_to_its_config_by_dependency():
    """At preview a new bucket's id is unknown; CrossGuard's property dependencies link it."""
    bucket_urn = "urn:pulumi:prod::mlsys::aws:s3/bucket:Bucket::b"

    def resource(typ: str, name: str, props: dict[str, Any], bucket_dep: bool) -> Any:
        deps = (
            {"bucket": proto.AnalyzerPropertyDependencies(urns=[bucket_urn])} if bucket_dep else {}
        )
        return proto.AnalyzerResource(
            type=typ,
            name=name,
            urn=bucket_urn if name == "b" else f"urn:pulumi:prod::mlsys::{typ}::{name}",
            properties=_struct(props),
            propertyDependencies=deps,
        )

    versioning = "aws:s3/bucketVersioning:BucketVersioning"
    request = proto.AnalyzeStackRequest(
        resources=[
            resource("aws:s3/bucket:Bucket", "b", {"bucket": "b1", "tags": TAGS}, False),
            resource(
                versioning,
                "v",
                {"bucket": UNKNOWN_STRING_VALUE, "versioningConfiguration": {"status": "Enabled"}},
                True,
            ),
        ]
    )
    messages = _mandatory(list(_analyzer().AnalyzeStack(request, None).diagnostics))
    assert "bucket b1 has no versioning" not in messages
    assert "bucket b1 has no public access block" in messages
    assert not any("can't run policy" in m for m in messages)
