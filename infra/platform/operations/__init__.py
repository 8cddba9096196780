"""Cluster operations: metrics-server and Velero backups."""

from infra.platform.operations.component import ClusterOperations, ClusterOperationsArgs

__all__ = ["ClusterOperations", "ClusterOperationsArgs"]
