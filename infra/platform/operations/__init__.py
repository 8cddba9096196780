"""Cluster operations: metrics-server, Velero backups and the hourly database dumps."""

from infra.platform.operations.component import ClusterOperations, ClusterOperationsArgs

__all__ = ["ClusterOperations", "ClusterOperationsArgs"]
