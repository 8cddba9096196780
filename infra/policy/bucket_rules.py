"""Guardrails across resources: each bucket and the separate resources that configure it.

A configuration resource is linked to its bucket by the bucket's name, or (at preview, when
a new bucket's id is not known yet) by the property dependency CrossGuard reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from infra.policy.resource_rules import aws_managed_key, is_prod
from infra.policy.values import UNKNOWN, get, items, statements, truthy

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3 = "aws:s3/"
ENCRYPTION = f"{S3}bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS = f"{S3}bucketPublicAccessBlock:BucketPublicAccessBlock"
VERSIONING = f"{S3}bucketVersioning:BucketVersioning"
VERSIONING_V2 = f"{S3}bucketVersioningV2:BucketVersioningV2"
POLICY = f"{S3}bucketPolicy:BucketPolicy"
LOGGING = f"{S3}bucketLogging:BucketLogging"
REPLICATION = f"{S3}bucketReplicationConfig:BucketReplicationConfig"


@dataclass(frozen=True)
class PlannedResource:
    type: str
    name: str
    props: Any
    urn: str = ""
    # Input name -> URNs its value came from; how preview links a config to a new bucket.
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    def refs(self, key: str) -> set[str]:
        """What the input ``key`` points at: its known value(s) and the URNs behind them."""
        known = {str(v) for v in items(get(self.props, key)) if isinstance(v, str)}
        return known | set(self.property_dependencies.get(key, []))


@dataclass(frozen=True)
class Bucket:
    resource: PlannedResource

    @property
    def name(self) -> str:
        name = get(self.resource.props, "bucket")
        return name if isinstance(name, str) else self.resource.name

    @property
    def ids(self) -> set[str]:
        ids = {self.resource.urn, self.name, f"arn:aws:s3:::{self.name}"}
        return ids - {""}


def _buckets(resources: list[PlannedResource]) -> list[Bucket]:
    return [Bucket(r) for r in resources if r.type in BUCKETS]


def _configs(resources: list[PlannedResource], *types: str) -> list[PlannedResource]:
    return [r for r in resources if r.type in types]


def _for(bucket: Bucket, configs: Iterable[PlannedResource]) -> list[PlannedResource]:
    return [c for c in configs if c.refs("bucket") & bucket.ids]


def _log_targets(resources: list[PlannedResource]) -> set[str]:
    return {ref for r in _configs(resources, LOGGING) for ref in r.refs("targetBucket")}


def _denies_plain_http(bucket: Bucket, policy: PlannedResource) -> bool | None:
    """True if some statement denies every S3 action without TLS on the bucket and its objects;
    None if the document is UNKNOWN (judged at `pulumi up`)."""
    found = statements(get(policy.props, "policy"))
    if found is UNKNOWN:
        return None
    arn = f"arn:aws:s3:::{bucket.name}"
    for s in found:
        principal = get(s, "Principal")
        condition = get(s, "Condition", "Bool", "aws:SecureTransport")
        if (
            get(s, "Effect") == "Deny"
            and (principal == "*" or get(principal, "AWS") == "*")
            and {"s3:*", "*"} & set(items(get(s, "Action")))
            and {arn, f"{arn}/*"} <= set(items(get(s, "Resource")))
            and str(condition).lower() == "false"
        ):
            return True
    return False


def tls_only_buckets(resources: list[PlannedResource]) -> list[str]:
    """Every bucket's policy denies all S3 actions on it and its objects without TLS."""
    problems = []
    policies = _configs(resources, POLICY)
    for bucket in _buckets(resources):
        verdicts = [_denies_plain_http(bucket, p) for p in _for(bucket, policies)]
        if not any(v is not False for v in verdicts):
            problems.append(f"bucket {bucket.name} has no bucket policy denying non-TLS requests")
    return problems


def _encryption_ok(config: PlannedResource, log_target: bool) -> bool:
    rules = get(config.props, "rules")
    if rules is UNKNOWN or not items(rules):
        return False
    for rule in items(rules):
        default = get(rule, "applyServerSideEncryptionByDefault")
        algorithm, key = get(default, "sseAlgorithm"), get(default, "kmsMasterKeyId")
        # S3 cannot deliver access logs into SSE-KMS, so that one bucket uses SSE-S3.
        if algorithm == "AES256" and log_target:
            continue
        if algorithm != "aws:kms" or key is None or aws_managed_key(key):
            return False
    return True


def _versioning_on(config: PlannedResource) -> bool:
    return bool(get(config.props, "versioningConfiguration", "status") == "Enabled")


def _public_access_blocked(config: PlannedResource) -> bool:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return all(truthy(get(config.props, f)) for f in flags)


def buckets_fully_guarded(resources: list[PlannedResource]) -> list[str]:
    """Every bucket: customer-key encryption, every public access block, versioning Enabled."""
    targets = _log_targets(resources)
    checks: list[tuple[tuple[str, ...], Callable[[PlannedResource, Bucket], bool], str]] = [
        (
            (ENCRYPTION,),
            lambda c, b: _encryption_ok(c, bool(b.ids & targets)),
            "has no KMS encryption with a customer managed key",
        ),
        ((PUBLIC_ACCESS,), lambda c, _b: _public_access_blocked(c), "has no public access block"),
        ((VERSIONING, VERSIONING_V2), lambda c, _b: _versioning_on(c), "has no versioning"),
    ]
    problems = []
    for bucket in _buckets(resources):
        for types, check, what in checks:
            if not any(check(c, bucket) for c in _for(bucket, _configs(resources, *types))):
                problems.append(f"bucket {bucket.name} {what}")
    return problems


def _replicates(config: PlannedResource) -> bool:
    rules = get(config.props, "rules")
    if rules is UNKNOWN or not items(rules):
        return False
    return all(get(rule, "status") == "Enabled" for rule in items(rules))


def replicated_buckets(resources: list[PlannedResource]) -> list[str]:
    """In prod every bucket replicates to the DR region, except the replicas themselves and
    the access-log buckets."""
    replications = _configs(resources, REPLICATION)
    exempt = _log_targets(resources)
    for config in replications:
        exempt |= config.refs("rules")
        for rule in items(get(config.props, "rules")):
            destination = get(rule, "destination", "bucket")
            if isinstance(destination, str):
                exempt.add(destination)
    problems = []
    for bucket in _buckets(resources):
        if not is_prod(bucket.resource.props) or bucket.ids & exempt:
            continue
        if not any(_replicates(c) for c in _for(bucket, replications)):
            problems.append(f"prod bucket {bucket.name} has no enabled replication to DR")
    return problems
