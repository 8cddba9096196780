"""postgres-exporter: pg_up and the database's statistics for Prometheus, signed in with IAM.

The exporter signs in as the ``monitoring`` user (pg_monitor, no table data) the database
bootstrap creates. It has no password anywhere: a native sidecar writes a fresh RDS IAM
token into a pgpass file every ten minutes, and libpq reads that file on every new
connection, as the workloads do (docs/infrastructure.md, "Database credentials").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.foundation.database import MONITORING_USER
from infra.foundation.service_accounts import POSTGRES_EXPORTER
from infra.platform.charts import helm_release
from infra.platform.database_bootstrap import DATABASE_CLIENT_LABEL, build_security_group_policy
from infra.platform.kube import custom_resource, with_deps
from infra.platform.monitoring.values import NAMESPACE
from infra.platform.rds_token import CA_FILE, PASS_FILE, TOKEN_DIR, token_script

# The Service's name is the scrape job: rules/dependencies.yaml queries job="postgres-exporter".
JOB = "postgres-exporter"
SERVICE_ACCOUNT = POSTGRES_EXPORTER.service_account
RUN_AS = 10001
_HARDENED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
}


def build_token_sidecar(*, image: str, host: str, port: int, region: str) -> dict[str, Any]:
    """A native sidecar (an init container that keeps running): the exporter starts only
    once the first token is written."""
    return {
        "name": "db-token",
        "image": image,
        "restartPolicy": "Always",
        "command": ["sh", "-ec", token_script(region)],
        "env": [
            {"name": "DB_HOST", "value": host},
            {"name": "DB_PORT", "value": str(port)},
            {"name": "DB_USER", "value": MONITORING_USER},
            {"name": "AWS_REGION", "value": region},
            {"name": "HOME", "value": "/tmp"},  # noqa: S108 - the pod's own emptyDir
        ],
        "volumeMounts": [
            {"name": "db-token", "mountPath": TOKEN_DIR},
            {"name": "home", "mountPath": "/tmp"},  # noqa: S108
        ],
        "startupProbe": {
            "exec": {"command": ["test", "-s", PASS_FILE]},
            "periodSeconds": 2,
            "failureThreshold": 30,
        },
        "securityContext": dict(_HARDENED),
        "resources": {
            "requests": {"cpu": "10m", "memory": "64Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
    }


def build_postgres_exporter_values(
    *, host: str, port: int, region: str, aws_cli_image: str
) -> dict[str, Any]:
    """Values for prometheus-postgres-exporter 7.3.0 (postgres_exporter 0.18.1), keys from
    that version's values.yaml."""
    return {
        # The Service, and so the ServiceMonitor's job label, is "postgres-exporter".
        "fullnameOverride": JOB,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        # Pod Identity mounts its own token; the exporter never calls the Kubernetes API.
        "automountServiceAccountToken": False,
        "rbac": {"create": False},
        "config": {
            "datasource": {
                "host": host,
                "port": str(port),
                "user": MONITORING_USER,
                "database": "postgres",
                "sslmode": "verify-full",
                "extraParams": f"sslrootcert={CA_FILE}",
                # The chart sets PGPASSFILE and an empty DATA_SOURCE_PASS: no Secret at all.
                "pgpassfile": PASS_FILE,
            },
            "logFormat": "json",
        },
        "serviceMonitor": {"enabled": True, "interval": "30s", "timeout": "10s"},
        "podLabels": dict(DATABASE_CLIENT_LABEL),
        "podSecurityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "securityContext": dict(_HARDENED),
        "resources": {
            "requests": {"cpu": "20m", "memory": "64Mi"},
            "limits": {"cpu": "250m", "memory": "128Mi"},
        },
        "initContainers": [
            build_token_sidecar(image=aws_cli_image, host=host, port=port, region=region)
        ],
        "extraVolumes": [
            {"name": "db-token", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
            {"name": "home", "emptyDir": {"sizeLimit": "64Mi"}},
        ],
        "extraVolumeMounts": [{"name": "db-token", "mountPath": TOKEN_DIR, "readOnly": True}],
    }


@dataclass(frozen=True, kw_only=True)
class PostgresExporterArgs:
    host: pulumi.Input[str]
    port: int
    region: str
    aws_cli_image: str  # pinned by digest
    security_group_ids: Sequence[pulumi.Input[str]]  # the database clients' group first
    identity: pulumi.Resource  # the postgres-exporter Pod Identity association
    monitoring: pulumi.Resource  # installs the ServiceMonitor CRD
    database: pulumi.Resource  # the bootstrap that creates the monitoring user
    namespace: k8s.core.v1.Namespace
    k8s_provider: k8s.Provider


class PostgresExporter(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: PostgresExporterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:platform:PostgresExporter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        groups = custom_resource(
            f"{name}-database-clients",
            build_security_group_policy(NAMESPACE, args.security_group_ids),
            with_deps(child, args.namespace),
        )
        values = pulumi.Output.from_input(args.host).apply(
            lambda host: build_postgres_exporter_values(
                host=host, port=args.port, region=args.region, aws_cli_image=args.aws_cli_image
            )
        )
        helm_release(
            f"{name}-release",
            "prometheus-postgres-exporter",
            NAMESPACE,
            values,
            with_deps(child, groups, args.identity, args.monitoring, args.database),
        )
        self.register_outputs({})
