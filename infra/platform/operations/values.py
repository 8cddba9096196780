"""Helm values for metrics-server and Velero, per stack."""

from __future__ import annotations

from typing import Any

from infra.foundation.service_accounts import VELERO

VELERO_NAMESPACE = VELERO.namespace
# The AWS object-store and EBS snapshot plugin for Velero 1.17 (the velero chart 11.0.0's).
VELERO_AWS_PLUGIN = "velero/velero-plugin-for-aws:v1.13.0"
# 02:00 UTC daily: after the nightly training window, before the working day in Europe.
BACKUP_SCHEDULE = "0 2 * * *"
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 65532,  # unprivileged: Velero writes only to its own emptyDir volumes
    "seccompProfile": {"type": "RuntimeDefault"},
}
# What Pod Security `restricted` requires of each container.
CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def build_metrics_server_values(*, replicas: int) -> dict[str, Any]:
    """Values for metrics-server 3.13.0 (keys from that version's values.yaml)."""
    return {
        "replicas": replicas,
        # HPAs stop scaling while the metrics API is down: keep one through node drains.
        "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": 1},
        "resources": {
            "requests": {"cpu": "100m", "memory": "200Mi"},
            "limits": {"memory": "400Mi"},
        },
    }


def build_backup_schedule(*, retention_days: int) -> dict[str, Any]:
    """The daily backup of every namespace with EBS snapshots, kept ``retention_days``."""
    return {
        "daily": {
            "schedule": BACKUP_SCHEDULE,
            "useOwnerReferencesInBackup": False,  # backups outlive a deleted Schedule
            "template": {
                "ttl": f"{retention_days * 24}h0m0s",
                "includedNamespaces": ["*"],
                "snapshotVolumes": True,
                "storageLocation": "default",
                "volumeSnapshotLocations": ["default"],
            },
        }
    }


def build_velero_values(*, bucket: str, region: str, retention_days: int) -> dict[str, Any]:
    """Values for velero 11.0.0 (Velero 1.17; keys from that version's values.yaml)."""
    return {
        "initContainers": [
            {
                "name": "velero-plugin-for-aws",
                "image": VELERO_AWS_PLUGIN,
                "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
                "securityContext": CONTAINER_SECURITY,
            }
        ],
        "configuration": {
            "backupStorageLocation": [
                {
                    "name": "default",
                    "provider": "aws",
                    "bucket": bucket,
                    "prefix": "velero",
                    "default": True,
                    "config": {"region": region},
                }
            ],
            "volumeSnapshotLocation": [
                {"name": "default", "provider": "aws", "config": {"region": region}}
            ],
        },
        # No static keys: the velero Pod Identity role signs every call.
        "credentials": {"useSecret": False},
        "serviceAccount": {"server": {"create": True, "name": VELERO.service_account}},
        "snapshotsEnabled": True,
        # EBS snapshots only: the file-system node agent would need hostPath and root.
        "deployNodeAgent": False,
        # The CRD-upgrade hook's kubectl pod would break Pod Security `restricted`; CRDs
        # come from the chart's crds/ on install, and a chart upgrade applies them by hand.
        "upgradeCRDs": False,
        "podSecurityContext": POD_SECURITY,
        "containerSecurityContext": CONTAINER_SECURITY,
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "schedules": build_backup_schedule(retention_days=retention_days),
    }
