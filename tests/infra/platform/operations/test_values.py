"""metrics-server and Velero values: documented keys, Pod Identity, schedule and retention."""

from __future__ import annotations

from infra.foundation.service_accounts import VELERO
from infra.platform.namespaces import NAMESPACES
from infra.platform.operations.values import (
    build_backup_schedule,
    build_metrics_server_values,
    build_velero_values,
)


def _velero(days: int = 30):
    return build_velero_values(bucket="mlsys-prod-backups", region="eu-west-1", retention_days=days)


def test_values_set_only_keys_the_pinned_charts_document():
    # metrics-server 3.13.0 and velero 11.0.0 keys used here.
    assert set(build_metrics_server_values(replicas=2)) == {
        "replicas",
        "podDisruptionBudget",
        "resources",
    }
    assert set(_velero()) == {
        "initContainers",
        "configuration",
        "credentials",
        "serviceAccount",
        "snapshotsEnabled",
        "deployNodeAgent",
        "upgradeCRDs",
        "podSecurityContext",
        "containerSecurityContext",
        "resources",
        "schedules",
    }


def test_metrics_server_keeps_one_replica_through_drains_when_it_has_two():
    assert build_metrics_server_values(replicas=2)["podDisruptionBudget"]["enabled"] is True
    assert build_metrics_server_values(replicas=1)["podDisruptionBudget"]["enabled"] is False


def test_velero_writes_the_backups_bucket_and_snapshots_ebs_with_pod_identity():
    values = _velero()
    location = values["configuration"]["backupStorageLocation"][0]
    assert (location["provider"], location["bucket"]) == ("aws", "mlsys-prod-backups")
    assert location["config"] == {"region": "eu-west-1"}
    snapshots = values["configuration"]["volumeSnapshotLocation"][0]
    assert snapshots["provider"] == "aws" and values["snapshotsEnabled"] is True
    assert values["credentials"] == {"useSecret": False}
    assert values["serviceAccount"]["server"]["name"] == VELERO.service_account
    assert values["initContainers"][0]["image"].startswith("velero/velero-plugin-for-aws:v1.")


def test_daily_schedule_keeps_backups_for_the_configured_days():
    daily = build_backup_schedule(retention_days=14)["daily"]
    _minute, hour, day, month, weekday = daily["schedule"].split()
    assert (day, month, weekday) == ("*", "*", "*") and hour.isdigit()
    assert daily["template"]["ttl"] == "336h0m0s"
    assert daily["template"]["snapshotVolumes"] is True
    assert _velero(7)["schedules"]["daily"]["template"]["ttl"] == "168h0m0s"


def test_velero_meets_pod_security_restricted_in_its_own_namespace():
    values = _velero()
    assert NAMESPACES[VELERO.namespace].pod_security == "restricted"
    assert values["deployNodeAgent"] is False  # the node agent needs hostPath
    assert values["upgradeCRDs"] is False  # its hook pod sets no security context
    assert values["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in values["initContainers"]:
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
