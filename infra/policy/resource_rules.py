"""Guardrails on one resource at a time: encryption, privacy, tags, prod safety, open networks.

Safety switches (encrypted, public, deletion protection) are literals in this program, so an
UNKNOWN one at preview is refused; a key id or ARN that is UNKNOWN is a key this program
creates in the same run, and is accepted.
"""

from __future__ import annotations

from typing import Any

from infra.policy.values import UNKNOWN, get, items, truthy

Props = Any
REQUIRED_TAGS = ("project", "environment", "owner", "cost-center")
NON_PROD = ("dev", "staging")
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")
# AWS types that take no tags. Every other aws: type must carry the required tags, so a type
# added to the program later is checked without anyone remembering to list it.
UNTAGGABLE = frozenset(
    {
        "aws:cloudwatch/eventTarget:EventTarget",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:ecr/replicationConfiguration:ReplicationConfiguration",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:iam/policyAttachment:PolicyAttachment",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLogging:BucketLogging",
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:sqs/queuePolicy:QueuePolicy",
    }
)


def aws_managed_key(key: Any) -> bool:
    """alias/aws/s3 and its kin: AWS's default keys, whose policy nobody here controls."""
    return isinstance(key, str) and (key.startswith("alias/aws/") or ":alias/aws/" in key)


def _customer_key(key: Any, what: str) -> list[str]:
    if key is UNKNOWN:
        return []
    if not key or aws_managed_key(key):
        return [f"{what} must be encrypted with a customer managed KMS key, got {key!r}"]
    return []


def _must_be_true(props: Props, key: str, message: str) -> list[str]:
    value = get(props, key)
    if value is UNKNOWN:
        return [f"{message} ({key} must be known at preview)"]
    return [] if truthy(value) else [message]


def _launch_template(props: Props) -> list[str]:
    mappings = get(props, "blockDeviceMappings")
    if mappings is UNKNOWN:
        return ["launch template volumes must be known at preview"]
    if not items(mappings):
        # Without a mapping the root volume is whatever the AMI says, unencrypted by default.
        return ["launch templates must declare their root volume, encrypted"]
    return [
        f"launch template volume {get(m, 'deviceName')} must be encrypted"
        for m in items(mappings)
        if not truthy(get(m, "ebs", "encrypted"))
    ]


def _storage_class(props: Props) -> list[str]:
    if get(props, "provisioner") not in EBS_PROVISIONERS:
        return []
    if truthy(get(props, "parameters", "encrypted")):
        return []
    return ['EBS StorageClasses must set parameters.encrypted: "true"']


def encrypted_storage(typ: str, props: Props) -> list[str]:
    """RDS, EBS, EKS secrets, secrets, log groups and images are encrypted at rest (S3: see
    buckets-fully-guarded, which knows which bucket receives access logs)."""
    if typ == "aws:rds/instance:Instance":
        return _must_be_true(props, "storageEncrypted", "RDS storage must be encrypted")
    if typ == "aws:ebs/volume:Volume":
        return _must_be_true(props, "encrypted", "EBS volumes must be encrypted")
    if typ == "aws:ec2/launchTemplate:LaunchTemplate":
        return _launch_template(props)
    if typ == "kubernetes:storage.k8s.io/v1:StorageClass":
        return _storage_class(props)
    if typ == "aws:eks/cluster:Cluster":
        resources = get(props, "encryptionConfig", "resources")
        if resources is UNKNOWN or "secrets" not in items(resources):
            return ["EKS must encrypt Kubernetes secrets with KMS (encryptionConfig)"]
        return _customer_key(get(props, "encryptionConfig", "provider", "keyArn"), "EKS secrets")
    if typ == "aws:secretsmanager/secret:Secret":
        return _customer_key(get(props, "kmsKeyId"), "Secrets Manager secrets")
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        return _customer_key(get(props, "kmsKeyId"), "CloudWatch log groups")
    if typ == "aws:ecr/repository:Repository":
        config = get(props, "encryptionConfigurations", 0)
        if get(config, "encryptionType") != "KMS":
            return ["ECR repositories must use KMS encryption"]
        return _customer_key(get(config, "kmsKey"), "ECR repositories")
    return []


def no_public_database(typ: str, props: Props) -> list[str]:
    if typ != "aws:rds/instance:Instance":
        return []
    value = get(props, "publiclyAccessible")
    if value is UNKNOWN or truthy(value):
        return ["RDS instances must not be publicly accessible (a literal false)"]
    return []


def no_public_bucket(typ: str, props: Props) -> list[str]:
    if typ != "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        return []
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [flag for flag in flags if not truthy(get(props, flag))]
    return [f"S3 public access block must enable {', '.join(off)}"] if off else []


def required_tags(typ: str, props: Props) -> list[str]:
    if not typ.startswith("aws:") or typ in UNTAGGABLE:
        return []
    tags = get(props, "tags")
    if tags is UNKNOWN:
        return ["tags must be known at preview"]
    missing = [tag for tag in REQUIRED_TAGS if not get(tags, tag)]
    return [f"missing required tag(s): {', '.join(missing)}"] if missing else []


def is_prod(props: Props) -> bool:
    """Anything not tagged as a known non-prod environment is treated as prod (fail closed)."""
    return get(props, "tags", "environment") not in NON_PROD


def production_database(typ: str, props: Props) -> list[str]:
    """Prod (and anything not tagged dev or staging): deletion protection, Multi-AZ, at least
    14 days of backups, and a final snapshot."""
    if typ != "aws:rds/instance:Instance" or not is_prod(props):
        return []
    problems = _must_be_true(props, "deletionProtection", "prod RDS needs deletionProtection")
    problems += _must_be_true(props, "multiAz", "prod RDS needs multiAz")
    retention = get(props, "backupRetentionPeriod")
    if retention is UNKNOWN or not isinstance(retention, int | float) or retention < 14:
        problems.append("prod RDS needs backupRetentionPeriod >= 14")
    skip = get(props, "skipFinalSnapshot")
    if skip is UNKNOWN or truthy(skip):
        problems.append("prod RDS needs a final snapshot (skipFinalSnapshot false)")
    return problems


def _open(cidrs: Any) -> list[str]:
    if cidrs is UNKNOWN:
        return ["<unknown at preview>"]
    return [c for c in items(cidrs) if c in OPEN_CIDRS]


def no_open_ingress(typ: str, props: Props) -> list[str]:
    """No security group admits the whole internet; no non-dev EKS API is open to it."""
    found: list[str] = []
    if typ == "aws:ec2/securityGroup:SecurityGroup":
        for rule in items(get(props, "ingress")):
            found += _open(get(rule, "cidrBlocks")) + _open(get(rule, "ipv6CidrBlocks"))
    elif typ == "aws:ec2/securityGroupRule:SecurityGroupRule" and get(props, "type") == "ingress":
        found += _open(get(props, "cidrBlocks")) + _open(get(props, "ipv6CidrBlocks"))
    elif typ == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        found += _open(get(props, "cidrIpv4")) + _open(get(props, "cidrIpv6"))
    elif typ == "aws:eks/cluster:Cluster" and get(props, "tags", "environment") != "dev":
        vpc = get(props, "vpcConfig")
        public = get(vpc, "endpointPublicAccess")
        # AWS's default is a public endpoint open to 0.0.0.0/0.
        if public is None or public is UNKNOWN or truthy(public):
            cidrs = get(vpc, "publicAccessCidrs")
            found += ["0.0.0.0/0 (default)"] if cidrs is None else _open(cidrs)
    return [f"ingress from {cidr} is refused" for cidr in found]
