"""The platform section of the stack config: parsed here, per-stack sizing derived here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from infra import config_rules as rules
from infra.config_rules import ConfigError

AcmeIssuer = Literal["letsencrypt-staging", "letsencrypt-prod"]
ACME_ISSUERS: tuple[str, ...] = get_args(AcmeIssuer)
# The latency SLO counts requests under the bound from the API's histogram, so the bound
# must be one of its bucket edges (app/metrics.py LATENCY_BUCKETS, in milliseconds; a test
# keeps the two in step).
LATENCY_BOUNDS_MS: tuple[int, ...] = (5, 10, 25, 50, 100, 250, 500, 1000, 2500)
# The public hosts behind the gateway: the API's is mlsys:domain, the others are siblings.
HOST_NAMES: tuple[str, ...] = ("api", "mlflow", "grafana", "kibana", "airflow")

# key -> (kind, required). Merged into infra.config.KEYS; Pulumi.yaml declares each.
PLATFORM_KEYS: dict[str, tuple[str, bool]] = {
    "acmeIssuer": ("string", True),
    "apiRateLimitPerSecond": ("integer", True),
    "apiRateLimitBurst": ("integer", True),
    "apiLatencyP99Ms": ("integer", True),
    "driftPsiThreshold": ("string", True),  # a decimal; Pulumi.yaml has no number type
    "trainingStaleDays": ("integer", True),
    "prometheusRetentionDays": ("integer", True),
    "vaultImage": ("string", True),
    "backupRetentionDays": ("integer", True),
    "logIndexRetentionDays": ("integer", True),
    "hostedZoneId": ("string", False),
}
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")


@dataclass(frozen=True, kw_only=True)
class PlatformConfig:
    environment: str
    hosts: dict[str, str]  # purpose (HOST_NAMES) -> public DNS name
    acme_issuer: AcmeIssuer
    api_rate_limit_per_second: int
    api_rate_limit_burst: int
    api_latency_p99_seconds: float
    drift_psi_threshold: float
    training_stale_days: int
    prometheus_retention_days: int
    vault_image: str  # the configure Job's vault CLI, pinned by digest
    backup_retention_days: int  # Velero's daily backups
    log_index_retention_days: int  # Elasticsearch's index lifecycle deletes after this
    # Route 53 zone of the public hosts: certificates then use DNS-01 instead of HTTP-01.
    hosted_zone_id: str | None = None

    @property
    def elasticsearch_nodes(self) -> int:
        """Three master-eligible nodes survive one loss; one elsewhere, logs are re-shipped."""
        return 3 if self.is_prod else 1

    @property
    def elasticsearch_volume_gb(self) -> int:
        return 100 if self.is_prod else 20

    @property
    def kibana_replicas(self) -> int:
        return 2 if self.is_prod else 1

    @property
    def metrics_server_replicas(self) -> int:
        return 1 if self.environment == "dev" else 2

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def gateway_replicas(self) -> int:
        """NGINX data plane pods: one per AZ in prod, two in staging to rehearse rollouts."""
        return {"prod": 3, "staging": 2}.get(self.environment, 1)

    @property
    def prometheus_replicas(self) -> int:
        return 2 if self.is_prod else 1

    @property
    def alertmanager_replicas(self) -> int:
        """Alertmanager gossips to deduplicate; three survive one loss without split brain."""
        return 3 if self.is_prod else 1

    @property
    def prometheus_volume_gb(self) -> int | None:
        """Persistent gp3 volumes in prod; elsewhere the TSDB may be lost with its pod."""
        if not self.is_prod:
            return None
        # About 1.5 GiB a day for this cluster's series, with headroom for compaction.
        return max(50, self.prometheus_retention_days * 2)

    @property
    def grafana_volume_gb(self) -> int | None:
        return 10 if self.is_prod else None

    @property
    def vault_replicas(self) -> int:
        """Raft needs three voters to survive one loss; dev's single node rebuilds from code."""
        return 1 if self.environment == "dev" else 3

    @property
    def vault_volume_gb(self) -> int:
        return 10

    @property
    def operator_replicas(self) -> int:
        """Vault Secrets Operator elects a leader: a second replica only shortens failover."""
        return 2 if self.is_prod else 1


def _hosts(domain: str) -> dict[str, str]:
    """api is mlsys:domain itself; mlflow, grafana, ... replace its first label."""
    parent = domain.split(".", 1)[1]
    return {name: domain if name == "api" else f"{name}.{parent}" for name in HOST_NAMES}


def _decimal(name: str, value: Any, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not low <= number <= high:
        raise ConfigError(f"{rules.key(name)} is {value!r}; expected a number from {low} to {high}")
    return number


def parse_platform(raw: Mapping[str, Any], environment: str, domain: str) -> PlatformConfig:
    """Validate the platform keys of ``raw`` (presence was checked with the other keys)."""
    issuer = rules.one_of("acmeIssuer", raw["acmeIssuer"], ACME_ISSUERS)
    if environment == "prod" and issuer != "letsencrypt-prod":
        # Staging certificates are not trusted by browsers or clients: prod would be down.
        raise ConfigError(f"{rules.key('acmeIssuer')} must be 'letsencrypt-prod' in prod")
    per_second = rules.integer("apiRateLimitPerSecond", raw["apiRateLimitPerSecond"], 1, 100000)
    burst = rules.integer("apiRateLimitBurst", raw["apiRateLimitBurst"], 0, 100000)
    latency_ms = raw["apiLatencyP99Ms"]
    if latency_ms not in LATENCY_BOUNDS_MS:
        allowed = ", ".join(str(b) for b in LATENCY_BOUNDS_MS)
        raise ConfigError(
            f"{rules.key('apiLatencyP99Ms')} is {latency_ms!r}; allowed values (the API's "
            f"histogram buckets): {allowed}"
        )
    backup_days = rules.integer("backupRetentionDays", raw["backupRetentionDays"], 1, 365)
    lock_days = raw.get("backupLockDays")
    if isinstance(lock_days, int) and backup_days < lock_days:
        # Velero would fail to delete expired backups the bucket's object lock still holds.
        raise ConfigError(
            f"{rules.key('backupRetentionDays')} ({backup_days}) must be at least "
            f"{rules.key('backupLockDays')} ({lock_days})"
        )
    retention = rules.integer("prometheusRetentionDays", raw["prometheusRetentionDays"], 1, 400)
    if environment == "prod" and retention < 15:
        raise ConfigError(f"{rules.key('prometheusRetentionDays')} must be >= 15 in prod")
    return PlatformConfig(
        environment=environment,
        hosts=_hosts(domain),
        acme_issuer=cast(AcmeIssuer, issuer),
        api_rate_limit_per_second=per_second,
        api_rate_limit_burst=burst,
        api_latency_p99_seconds=int(latency_ms) / 1000,
        drift_psi_threshold=_decimal("driftPsiThreshold", raw["driftPsiThreshold"], 0.01, 10.0),
        training_stale_days=rules.integer("trainingStaleDays", raw["trainingStaleDays"], 1, 90),
        prometheus_retention_days=retention,
        vault_image=rules.matching(
            "vaultImage",
            rules.text("vaultImage", raw["vaultImage"]),
            rules.IMAGE_WITH_DIGEST,
            "an image pinned by digest (registry/repo@sha256:...)",
        ),
        backup_retention_days=backup_days,
        log_index_retention_days=rules.integer(
            "logIndexRetentionDays", raw["logIndexRetentionDays"], 1, 365
        ),
        hosted_zone_id=None
        if raw.get("hostedZoneId") is None
        else rules.matching(
            "hostedZoneId", raw["hostedZoneId"], HOSTED_ZONE_ID, "a Route 53 hosted zone id (Z...)"
        ),
    )
