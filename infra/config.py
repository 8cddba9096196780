"""Stack configuration: read once from Pulumi config into a frozen, validated StackConfig."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

PROJECT = "mlsys"

Environment = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[str, ...] = ("dev", "staging", "prod")
# Kubernetes minor versions EKS offers in standard support for this release of the program.
EKS_VERSIONS: tuple[str, ...] = ("1.33", "1.34", "1.35")
POSTGRES_MAJORS: tuple[str, ...] = ("16", "17")
NAT_MODES: tuple[str, ...] = ("single", "per-az")
_INSTANCE_TYPE = re.compile(
    r"^[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|[0-9]*xlarge|metal)$"
)
_DB_CLASS = re.compile(r"^db\.(t4g|t3|m6g|m6i|m7g|m7i|r6g|r6i|r7g|r7i)\.[a-z0-9]+$")
_IMAGE_WITH_DIGEST = re.compile(
    r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$"
)
_ROLE_ARN = re.compile(r"^arn:aws:iam::[0-9]{12}:role/[\w+=,.@/-]+$")
_OIDC_ARN = re.compile(
    r"^arn:aws:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)
_REPO = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
_DNS = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ConfigError(ValueError):
    """A stack setting is missing, malformed, or unsafe; the message names the key."""


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
    owner: str
    cost_center: str
    vpc_cidr: str
    nat_mode: str
    interface_endpoints: bool
    cluster_version: str
    cluster_api_cidrs: tuple[str, ...]
    admin_role_arn: str
    system_nodes: NodeGroupConfig
    workload_nodes: NodeGroupConfig
    db_instance_class: str
    db_engine_major: str
    db_allocated_storage_gb: int
    db_multi_az: bool
    db_deletion_protection: bool
    db_backup_retention_days: int
    dr_region: str | None
    github_repository: str
    github_oidc_provider_arn: str | None
    domain: str
    letsencrypt_email: str
    app_image: str
    training_image: str

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

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
    "owner": ("string", True),
    "costCenter": ("string", True),
    "vpcCidr": ("string", True),
    "natMode": ("string", True),
    "interfaceEndpoints": ("boolean", True),
    "clusterVersion": ("string", True),
    "clusterApiCidrs": ("array", True),
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
    "githubRepository": ("string", True),
    "githubOidcProviderArn": ("string", False),
    "domain": ("string", True),
    "letsencryptEmail": ("string", True),
    "appImage": ("string", True),
    "trainingImage": ("string", True),
}


def _key(name: str) -> str:
    return f"{PROJECT}:{name}"


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{_key(name)} is {value!r}; allowed values: {', '.join(allowed)}")
    return str(value)


def _matching(name: str, value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(f"{_key(name)} is {value!r}; expected {what}")
    return value


def _int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{_key(name)} is {value!r}; expected an integer from {low} to {high}")
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{_key(name)} is {value!r}; expected true or false")
    return value


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{_key(name)} must be a non-empty string")
    return value


def _vpc_cidr(value: Any) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{_key('vpcCidr')} is {value!r}; expected a CIDR block: {exc}") from None
    if network.version != 4 or not network.is_private or not 16 <= network.prefixlen <= 20:
        raise ConfigError(
            f"{_key('vpcCidr')} is {value!r}; expected a private IPv4 block from /16 to /20, "
            "large enough for 9 subnets over 3 availability zones"
        )
    return str(network)


def _api_cidrs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{_key('clusterApiCidrs')} must be a non-empty list of CIDR blocks")
    try:
        return tuple(str(ipaddress.ip_network(item, strict=True)) for item in value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{_key('clusterApiCidrs')} has an invalid CIDR block: {exc}") from None


def _nodes(prefix: str, raw: Mapping[str, Any]) -> NodeGroupConfig:
    types_key = f"{prefix}NodeInstanceTypes"
    types = raw[types_key]
    if not isinstance(types, list) or not types:
        raise ConfigError(f"{_key(types_key)} must be a non-empty list of EC2 instance types")
    for item in types:
        _matching(types_key, item, _INSTANCE_TYPE, "EC2 instance types such as m7i.large")
    low = _int(f"{prefix}NodeMin", raw[f"{prefix}NodeMin"], 0, 100)
    desired = _int(f"{prefix}NodeDesired", raw[f"{prefix}NodeDesired"], 0, 100)
    high = _int(f"{prefix}NodeMax", raw[f"{prefix}NodeMax"], 1, 100)
    if not low <= desired <= high:
        raise ConfigError(
            f"{_key(prefix + 'NodeDesired')} must lie between {_key(prefix + 'NodeMin')} ({low}) "
            f"and {_key(prefix + 'NodeMax')} ({high}); got {desired}"
        )
    return NodeGroupConfig(
        instance_types=tuple(types), min_size=low, desired_size=desired, max_size=high
    )


def _prod_safety(config: StackConfig) -> None:
    """Production must survive an AZ loss and an accidental delete; refuse anything less."""
    if not config.is_prod:
        return
    rules: list[tuple[bool, str, str]] = [
        (config.db_multi_az, "dbMultiAz", "must be true in prod"),
        (config.db_deletion_protection, "dbDeletionProtection", "must be true in prod"),
        (config.db_backup_retention_days >= 14, "dbBackupRetentionDays", "must be >= 14 in prod"),
        (config.nat_mode == "per-az", "natMode", "must be 'per-az' in prod"),
        (config.dr_region is not None, "drRegion", "must be set in prod (bucket replication)"),
        (config.system_nodes.min_size >= 2, "systemNodeMin", "must be >= 2 in prod"),
    ]
    for ok, name, message in rules:
        if not ok:
            raise ConfigError(f"{_key(name)} {message}")


def parse(raw: Mapping[str, Any], region: str | None) -> StackConfig:
    """Validate decoded config values (``raw`` keys without the project prefix)."""
    for name, (_, required) in KEYS.items():
        if required and raw.get(name) is None:
            raise ConfigError(f"{_key(name)} is required; set it with `pulumi config set {name}`")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown config key(s): {', '.join(_key(k) for k in unknown)}")
    if not region:
        raise ConfigError("aws:region is required; set it with `pulumi config set aws:region ...`")
    environment = _one_of("environment", raw["environment"], ENVIRONMENTS)
    dr_region = raw.get("drRegion")
    if dr_region is not None and (not isinstance(dr_region, str) or dr_region == region):
        raise ConfigError(f"{_key('drRegion')} must be a different AWS region than aws:region")
    strict_images = environment in ("staging", "prod")
    images = {}
    for name in ("appImage", "trainingImage"):
        value = _text(name, raw[name])
        if strict_images:
            value = _matching(
                name,
                value,
                _IMAGE_WITH_DIGEST,
                f"an image pinned by digest (registry/repo@sha256:...) in {environment}",
            )
        images[name] = value
    config = StackConfig(
        environment=environment,  # type: ignore[arg-type]
        region=region,
        owner=_text("owner", raw["owner"]),
        cost_center=_text("costCenter", raw["costCenter"]),
        vpc_cidr=_vpc_cidr(raw["vpcCidr"]),
        nat_mode=_one_of("natMode", raw["natMode"], NAT_MODES),
        interface_endpoints=_bool("interfaceEndpoints", raw["interfaceEndpoints"]),
        cluster_version=_one_of("clusterVersion", raw["clusterVersion"], EKS_VERSIONS),
        cluster_api_cidrs=_api_cidrs(raw["clusterApiCidrs"]),
        admin_role_arn=_matching(
            "adminRoleArn",
            raw["adminRoleArn"],
            _ROLE_ARN,
            "an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
        ),
        system_nodes=_nodes("system", raw),
        workload_nodes=_nodes("workload", raw),
        db_instance_class=_matching(
            "dbInstanceClass",
            raw["dbInstanceClass"],
            _DB_CLASS,
            "an RDS instance class such as db.t4g.medium",
        ),
        db_engine_major=_one_of("dbEngineMajor", str(raw["dbEngineMajor"]), POSTGRES_MAJORS),
        db_allocated_storage_gb=_int(
            "dbAllocatedStorageGb", raw["dbAllocatedStorageGb"], 20, 65536
        ),
        db_multi_az=_bool("dbMultiAz", raw["dbMultiAz"]),
        db_deletion_protection=_bool("dbDeletionProtection", raw["dbDeletionProtection"]),
        db_backup_retention_days=_int("dbBackupRetentionDays", raw["dbBackupRetentionDays"], 1, 35),
        dr_region=dr_region,
        github_repository=_matching(
            "githubRepository",
            raw["githubRepository"],
            _REPO,
            "owner/name of the GitHub repository",
        ),
        github_oidc_provider_arn=None
        if raw.get("githubOidcProviderArn") is None
        else _matching(
            "githubOidcProviderArn",
            raw["githubOidcProviderArn"],
            _OIDC_ARN,
            "the ARN of an existing token.actions.githubusercontent.com provider",
        ),
        domain=_matching("domain", raw["domain"], _DNS, "a lower-case DNS name"),
        letsencrypt_email=_matching(
            "letsencryptEmail",
            raw["letsencryptEmail"],
            re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"),
            "an e-mail address",
        ),
        app_image=images["appImage"],
        training_image=images["trainingImage"],
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
            raise ConfigError(f"{_key(name)} has the wrong type, expected {kind}: {exc}") from None
        if value is not None:
            raw[name] = value
    return parse(raw, pulumi.Config("aws").get("region"))
