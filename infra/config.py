"""Stack configuration: read once from Pulumi config into a frozen, validated StackConfig."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from infra import config_rules as rules
from infra.config_rules import PROJECT as PROJECT
from infra.config_rules import ConfigError as ConfigError
from infra.platform_config import PLATFORM_KEYS, PlatformConfig, parse_platform
from infra.workloads_config import WORKLOAD_KEYS, WorkloadsConfig, parse_workloads

# Each Literal is the single list of allowed values: the parser and the types both read it.
Environment = Literal["dev", "staging", "prod"]
# Kubernetes minor versions EKS offers in standard support for this release of the program.
EksVersion = Literal["1.33", "1.34", "1.35"]
PostgresMajor = Literal["16", "17"]
NatMode = Literal["single", "per-az"]
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)
EKS_VERSIONS: tuple[str, ...] = get_args(EksVersion)
POSTGRES_MAJORS: tuple[str, ...] = get_args(PostgresMajor)
NAT_MODES: tuple[str, ...] = get_args(NatMode)


@dataclass(frozen=True, kw_only=True)
class NodeGroupConfig:
    instance_types: tuple[str, ...]
    min_size: int
    desired_size: int
    max_size: int


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    environment: Environment
    region: str
    account_id: str
    owner: str
    cost_center: str
    vpc_cidr: str
    nat_mode: NatMode
    interface_endpoints: bool
    cluster_version: EksVersion
    cluster_api_cidrs: tuple[str, ...]
    admin_role_arn: str
    system_nodes: NodeGroupConfig
    workload_nodes: NodeGroupConfig
    db_instance_class: str
    db_engine_major: PostgresMajor
    db_allocated_storage_gb: int
    db_multi_az: bool
    db_deletion_protection: bool
    db_backup_retention_days: int
    dr_region: str | None
    backup_lock_days: int | None
    github_repository: str
    github_oidc_provider_arn: str | None
    domain: str
    letsencrypt_email: str
    app_image: str
    training_image: str
    # Accounts whose clusters pull this account's images: CI builds once, into staging's
    # registry, and prod runs the same digests from there.
    image_pull_account_ids: tuple[str, ...]
    db_client_image: str
    aws_cli_image: str
    platform: PlatformConfig
    workloads: WorkloadsConfig

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def nat_per_az(self) -> bool:
        """One NAT gateway per AZ survives an AZ loss; a single one is cheaper."""
        return self.nat_mode == "per-az"

    @property
    def final_snapshot(self) -> bool:
        """Deleting a protected database leaves a snapshot behind; only dev is disposable."""
        return self.environment != "dev"

    @property
    def private_cluster_endpoint(self) -> bool:
        """No CIDRs listed: the EKS API is reachable only from inside the VPC."""
        return not self.cluster_api_cidrs

    @property
    def noncurrent_version_retention_days(self) -> int:
        """How long overwritten or deleted S3 object versions stay recoverable."""
        return 365 if self.is_prod else 30

    @property
    def log_retention_days(self) -> int:
        """Flow and control-plane logs: a year in prod (investigations), 90 days elsewhere."""
        return 365 if self.is_prod else 90

    @property
    def prefix(self) -> str:
        """Every physical name starts with this, which is what the deploy role may touch."""
        return f"{PROJECT}-{self.environment}"

    @property
    def tags(self) -> dict[str, str]:
        """Required on every taggable resource (the policy pack checks them)."""
        return {
            "project": PROJECT,
            "environment": self.environment,
            "owner": self.owner,
            "cost-center": self.cost_center,
            "managed-by": "pulumi",
        }


# key -> (kind, required). Pulumi.yaml declares the same keys; a test keeps them in step.
KEYS: dict[str, tuple[str, bool]] = {
    "environment": ("string", True),
    "accountId": ("string", True),
    "owner": ("string", True),
    "costCenter": ("string", True),
    "vpcCidr": ("string", True),
    "natMode": ("string", True),
    "interfaceEndpoints": ("boolean", True),
    "clusterVersion": ("string", True),
    "clusterApiCidrs": ("array", False),
    "adminRoleArn": ("string", True),
    "systemNodeInstanceTypes": ("array", True),
    "systemNodeMin": ("integer", True),
    "systemNodeDesired": ("integer", True),
    "systemNodeMax": ("integer", True),
    "workloadNodeInstanceTypes": ("array", True),
    "workloadNodeMin": ("integer", True),
    "workloadNodeDesired": ("integer", True),
    "workloadNodeMax": ("integer", True),
    "dbInstanceClass": ("string", True),
    "dbEngineMajor": ("string", True),
    "dbAllocatedStorageGb": ("integer", True),
    "dbMultiAz": ("boolean", True),
    "dbDeletionProtection": ("boolean", True),
    "dbBackupRetentionDays": ("integer", True),
    "drRegion": ("string", False),
    "backupLockDays": ("integer", False),
    "githubRepository": ("string", True),
    "githubOidcProviderArn": ("string", False),
    "domain": ("string", True),
    "letsencryptEmail": ("string", True),
    "appImage": ("string", True),
    "imagePullAccountIds": ("array", False),
    "trainingImage": ("string", True),
    "dbClientImage": ("string", True),
    "awsCliImage": ("string", True),
    **PLATFORM_KEYS,
    **WORKLOAD_KEYS,
}


def _nodes(prefix: str, raw: Mapping[str, Any]) -> NodeGroupConfig:
    types = rules.instance_types(f"{prefix}NodeInstanceTypes", raw[f"{prefix}NodeInstanceTypes"])
    low = rules.integer(f"{prefix}NodeMin", raw[f"{prefix}NodeMin"], 0, 100)
    desired = rules.integer(f"{prefix}NodeDesired", raw[f"{prefix}NodeDesired"], 0, 100)
    high = rules.integer(f"{prefix}NodeMax", raw[f"{prefix}NodeMax"], 1, 100)
    if not low <= desired <= high:
        raise ConfigError(
            f"{rules.key(prefix + 'NodeDesired')} must lie between "
            f"{rules.key(prefix + 'NodeMin')} ({low}) and "
            f"{rules.key(prefix + 'NodeMax')} ({high}); got {desired}"
        )
    return NodeGroupConfig(instance_types=types, min_size=low, desired_size=desired, max_size=high)


def _pull_accounts(value: Any, own: Any) -> tuple[str, ...]:
    """Other 12-digit accounts, each once; this account needs no grant to its own images."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{rules.key('imagePullAccountIds')} must be a list of account ids")
    accounts = tuple(
        rules.matching("imagePullAccountIds", v, rules.ACCOUNT_ID, "12-digit AWS account ids")
        for v in value
    )
    if len(set(accounts)) != len(accounts) or own in accounts:
        raise ConfigError(
            f"{rules.key('imagePullAccountIds')} must list other accounts than "
            f"{rules.key('accountId')}, each once; got {list(accounts)}"
        )
    return accounts


def _prod_safety(config: StackConfig) -> None:
    """Production must survive an AZ loss and an accidental delete; refuse anything less."""
    if not config.is_prod:
        return
    checks: list[tuple[bool, str, str]] = [
        (config.db_multi_az, "dbMultiAz", "must be true in prod"),
        (config.db_deletion_protection, "dbDeletionProtection", "must be true in prod"),
        (config.db_backup_retention_days >= 14, "dbBackupRetentionDays", "must be >= 14 in prod"),
        (config.nat_per_az, "natMode", "must be 'per-az' in prod"),
        (config.dr_region is not None, "drRegion", "must be set in prod (bucket replication)"),
        (config.backup_lock_days is not None, "backupLockDays", "must be set in prod"),
        (config.system_nodes.min_size >= 2, "systemNodeMin", "must be >= 2 in prod"),
    ]
    for ok, name, message in checks:
        if not ok:
            raise ConfigError(f"{rules.key(name)} {message}")


def _api_cidrs(environment: str, value: Any) -> tuple[str, ...]:
    """Unset or empty: private endpoint only. Outside dev the whole internet is refused."""
    if value is None or value == []:
        return ()
    cidrs = rules.cidr_list("clusterApiCidrs", value)
    if environment != "dev":
        for cidr in cidrs:
            if cidr.endswith("/0"):
                raise ConfigError(
                    f"{rules.key('clusterApiCidrs')} contains {cidr} in {environment}; list "
                    "your own ranges, or leave it unset for a private-only endpoint"
                )
    return cidrs


def parse(raw: Mapping[str, Any], region: str | None) -> StackConfig:
    """Validate decoded config values (``raw`` keys without the project prefix)."""
    for name, (_, required) in KEYS.items():
        if required and raw.get(name) is None:
            raise ConfigError(
                f"{rules.key(name)} is required; set it with `pulumi config set {name}`"
            )
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown config key(s): {', '.join(rules.key(k) for k in unknown)}")
    if not region:
        raise ConfigError("aws:region is required; set it with `pulumi config set aws:region ...`")
    environment = rules.one_of("environment", raw["environment"], ENVIRONMENTS)
    dr_region = raw.get("drRegion")
    if dr_region is not None and (not isinstance(dr_region, str) or dr_region == region):
        raise ConfigError(f"{rules.key('drRegion')} must be a different AWS region than aws:region")
    strict_images = environment in ("staging", "prod")
    images = {}
    for name in ("appImage", "trainingImage", "dbClientImage", "awsCliImage"):
        value = rules.text(name, raw[name])
        # Platform images run with cluster credentials: pinned by digest in every stack.
        if strict_images or name in ("dbClientImage", "awsCliImage"):
            value = rules.matching(
                name,
                value,
                rules.IMAGE_WITH_DIGEST,
                f"an image pinned by digest (registry/repo@sha256:...) in {environment}",
            )
        images[name] = value
    config = StackConfig(
        environment=cast(Environment, environment),
        region=region,
        account_id=rules.matching(
            "accountId", raw["accountId"], rules.ACCOUNT_ID, "a 12-digit AWS account id"
        ),
        owner=rules.text("owner", raw["owner"]),
        cost_center=rules.text("costCenter", raw["costCenter"]),
        vpc_cidr=rules.vpc_cidr(raw["vpcCidr"]),
        nat_mode=cast(NatMode, rules.one_of("natMode", raw["natMode"], NAT_MODES)),
        interface_endpoints=rules.boolean("interfaceEndpoints", raw["interfaceEndpoints"]),
        cluster_version=cast(
            EksVersion, rules.one_of("clusterVersion", raw["clusterVersion"], EKS_VERSIONS)
        ),
        cluster_api_cidrs=_api_cidrs(environment, raw.get("clusterApiCidrs")),
        admin_role_arn=rules.matching(
            "adminRoleArn",
            raw["adminRoleArn"],
            rules.ROLE_ARN,
            "an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
        ),
        system_nodes=_nodes("system", raw),
        workload_nodes=_nodes("workload", raw),
        db_instance_class=rules.matching(
            "dbInstanceClass",
            raw["dbInstanceClass"],
            rules.DB_CLASS,
            "an RDS instance class such as db.t4g.medium",
        ),
        db_engine_major=cast(
            PostgresMajor,
            rules.one_of("dbEngineMajor", str(raw["dbEngineMajor"]), POSTGRES_MAJORS),
        ),
        db_allocated_storage_gb=rules.integer(
            "dbAllocatedStorageGb", raw["dbAllocatedStorageGb"], 20, 65536
        ),
        db_multi_az=rules.boolean("dbMultiAz", raw["dbMultiAz"]),
        db_deletion_protection=rules.boolean("dbDeletionProtection", raw["dbDeletionProtection"]),
        db_backup_retention_days=rules.integer(
            "dbBackupRetentionDays", raw["dbBackupRetentionDays"], 1, 35
        ),
        dr_region=dr_region,
        backup_lock_days=None
        if raw.get("backupLockDays") is None
        else rules.integer("backupLockDays", raw["backupLockDays"], 1, 3650),
        github_repository=rules.matching(
            "githubRepository",
            raw["githubRepository"],
            rules.REPO,
            "owner/name of the GitHub repository",
        ),
        github_oidc_provider_arn=None
        if raw.get("githubOidcProviderArn") is None
        else rules.matching(
            "githubOidcProviderArn",
            raw["githubOidcProviderArn"],
            rules.OIDC_ARN,
            "the ARN of an existing token.actions.githubusercontent.com provider",
        ),
        domain=rules.matching("domain", raw["domain"], rules.DNS, "a lower-case DNS name"),
        letsencrypt_email=rules.matching(
            "letsencryptEmail",
            raw["letsencryptEmail"],
            rules.EMAIL,
            "an e-mail address",
        ),
        app_image=images["appImage"],
        training_image=images["trainingImage"],
        image_pull_account_ids=_pull_accounts(raw.get("imagePullAccountIds"), raw["accountId"]),
        db_client_image=images["dbClientImage"],
        aws_cli_image=images["awsCliImage"],
        platform=parse_platform(raw, environment, raw["domain"]),
        workloads=parse_workloads(raw, environment, images["appImage"], images["trainingImage"]),
    )
    _prod_safety(config)
    return config


def read_pulumi_config() -> StackConfig:
    """The only place the program reads ``pulumi.Config``."""
    import pulumi

    project = pulumi.Config(PROJECT)
    getters: dict[str, Callable[[str], Any]] = {
        "string": project.get,
        "boolean": project.get_bool,
        "integer": project.get_int,
        "array": project.get_object,
    }
    raw: dict[str, Any] = {}
    for name, (kind, _) in KEYS.items():
        try:
            value = getters[kind](name)
        except (ValueError, json.JSONDecodeError, pulumi.ConfigTypeError) as exc:
            raise ConfigError(
                f"{rules.key(name)} has the wrong type, expected {kind}: {exc}"
            ) from None
        if value is not None:
            raw[name] = value
    return parse(raw, pulumi.Config("aws").get("region"))
