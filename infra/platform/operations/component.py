"""Cluster operations: metrics-server, Velero for daily backups, hourly database dumps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.platform.charts import helm_release
from infra.platform.kube import with_deps
from infra.platform.operations.db_backup import (
    DatabaseBackupArgs,
    build_backup_cronjob,
    build_cronjob_metadata,
    build_network_policy,
    build_script_config_map,
    build_service_account,
)
from infra.platform.operations.values import (
    VELERO_NAMESPACE,
    build_metrics_server_values,
    build_velero_values,
)


@dataclass(frozen=True, kw_only=True)
class ClusterOperationsArgs:
    metrics_server_replicas: int
    backups_bucket: pulumi.Input[str]
    region: str
    backup_retention_days: int
    velero_identity: pulumi.Resource  # the association: Velero's pods need it at start
    namespaces: dict[str, k8s.core.v1.Namespace]
    k8s_provider: k8s.Provider
    # The hourly pg_dump to the backups bucket; None until the stack wires it.
    database_backup: DatabaseBackupArgs | None = None


class ClusterOperations(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ClusterOperationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:platform:ClusterOperations", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        # kube-system exists in every cluster: nothing to wait for.
        helm_release(
            f"{name}-metrics-server",
            "metrics-server",
            "kube-system",
            build_metrics_server_values(replicas=args.metrics_server_replicas),
            child,
        )
        values = pulumi.Output.from_input(args.backups_bucket).apply(
            lambda bucket: build_velero_values(
                bucket=bucket,
                region=args.region,
                retention_days=args.backup_retention_days,
            )
        )
        # The chart installs the Schedule CRD before the Schedule in the same release.
        helm_release(
            f"{name}-velero",
            "velero",
            VELERO_NAMESPACE,
            values,
            with_deps(child, args.namespaces[VELERO_NAMESPACE], args.velero_identity),
        )
        if args.database_backup is not None:
            self._database_backup(name, args.database_backup, args.region, child)
        self.register_outputs({})

    def _database_backup(
        self, name: str, args: DatabaseBackupArgs, region: str, child: pulumi.ResourceOptions
    ) -> None:
        after = with_deps(child, args.namespace_ready)
        account_spec = build_service_account()
        account = k8s.core.v1.ServiceAccount(
            f"{name}-db-backup-sa",
            metadata=account_spec["metadata"],
            automount_service_account_token=False,
            opts=after,
        )
        script_spec = build_script_config_map()
        script = k8s.core.v1.ConfigMap(
            f"{name}-db-backup-script",
            metadata=script_spec["metadata"],
            data=script_spec["data"],
            opts=after,
        )
        network_spec = build_network_policy()
        network = k8s.networking.v1.NetworkPolicy(
            f"{name}-db-backup-network-policy",
            metadata=network_spec["metadata"],
            spec=network_spec["spec"],
            opts=after,
        )
        for database in args.databases:
            spec = pulumi.Output.all(args.host, args.bucket, args.kms_key_id).apply(
                _cronjob_spec(database, args, region)
            )
            _CRONJOB(
                f"{name}-db-backup-{database}",
                metadata=build_cronjob_metadata(database),
                spec=spec,
                opts=with_deps(child, account, script, network, args.identity),
            )


# Typed Any on purpose: matching the CronJob constructor's overloads against its nested
# TypedDicts takes mypy more than 10 GB; the spec is a checked dict from a pure builder.
_CRONJOB: Any = k8s.batch.v1.CronJob


def _cronjob_spec(
    database: str, args: DatabaseBackupArgs, region: str
) -> Callable[[list[Any]], dict[str, Any]]:
    """The CronJob spec once the host, bucket and key are known."""

    def build(resolved: list[Any]) -> dict[str, Any]:
        host, bucket, kms_key_id = resolved
        spec: dict[str, Any] = build_backup_cronjob(
            database=database,
            db_user=args.db_user,
            host=host,
            port=args.port,
            region=region,
            bucket=bucket,
            kms_key_id=kms_key_id,
            db_client_image=args.db_client_image,
            aws_cli_image=args.aws_cli_image,
        )["spec"]
        return spec

    return build
