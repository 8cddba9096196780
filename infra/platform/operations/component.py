"""Cluster operations: metrics-server for the metrics API, Velero for daily backups."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.platform.charts import helm_release
from infra.platform.kube import with_deps
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
        self.register_outputs({})
