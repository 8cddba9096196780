"""The hourly logical backup of the registry database: a CronJob running backup/pg_backup.sh.

The same script runs in the restore drill (tests/drills/restore.py), so what the drill
restores is what production writes: pg_dump custom format, SSE-KMS, under
``s3://<backups bucket>/postgres/<database>/<UTC time>.dump``. The backups bucket keeps
every object version and locks it (Object Lock, governance) and, in prod, replicates it to
the DR region; retention is the bucket's lifecycle, so the CronJob never deletes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from infra.foundation.service_accounts import DB_BACKUP
from infra.platform.database_bootstrap import (
    CA_BUNDLE_FILE,
    DATABASE_CLIENT_LABEL,
    JOB_POD_SECURITY,
    SECRETS_DIR,
    build_database_job_network_policy,
    database_job_container,
)

SCRIPT = Path(__file__).with_name("backup") / "pg_backup.sh"
# Beside the bootstrap Job: that namespace's pods may reach the database (SecurityGroupPolicy).
NAMESPACE = DB_BACKUP.namespace
# Hourly: the recovery point of a logical restore is at most an hour (RDS point-in-time
# restore, 5 minutes, stays the first choice; this copy survives the instance and its account).
BACKUP_SCHEDULE = "17 * * * *"
SCRIPTS_DIR = "/scripts"
WORK_DIR = "/work"


def build_cronjob_metadata(database: str) -> dict[str, Any]:
    return {"name": f"db-backup-{database}", "namespace": NAMESPACE}


def build_script_config_map() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "db-backup-script", "namespace": NAMESPACE},
        "data": {"pg_backup.sh": SCRIPT.read_text()},
    }


def build_service_account() -> dict[str, Any]:
    """Bound to the db-backup Pod Identity role: rds-db:connect and writes to the bucket."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": DB_BACKUP.service_account, "namespace": NAMESPACE},
        "automountServiceAccountToken": False,
    }


def build_network_policy() -> dict[str, Any]:
    """No traffic in; out only to DNS, AWS APIs and the RDS CA bundle (HTTPS), PostgreSQL and
    the Pod Identity agent: the bootstrap Job's policy, for these pods."""
    return build_database_job_network_policy("db-backup")


def _container(name: str, image: str, step: str, env: list[dict[str, str]]) -> dict[str, Any]:
    return database_job_container(
        name,
        image,
        ["sh", f"{SCRIPTS_DIR}/pg_backup.sh", step],
        env,
        mounts=[
            {"name": "script", "mountPath": SCRIPTS_DIR, "readOnly": True},
            {"name": "work", "mountPath": WORK_DIR},
        ],
        resources={
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
    )


def build_backup_cronjob(
    *,
    database: str,
    db_user: str,
    host: str,
    port: int,
    region: str,
    bucket: str,
    kms_key_id: str,
    db_client_image: str,
    aws_cli_image: str,
    schedule: str = BACKUP_SCHEDULE,
) -> dict[str, Any]:
    """Three steps in order, each in the image that has its tool: an IAM auth token and the
    RDS CA bundle (AWS CLI), pg_dump with verify-full (PostgreSQL client), the upload (AWS CLI).
    """
    common = [
        {"name": "PGHOST", "value": host},
        {"name": "PGPORT", "value": str(port)},
        {"name": "PGUSER", "value": db_user},
        {"name": "PGDATABASE", "value": database},
        {"name": "PGPASSFILE", "value": f"{SECRETS_DIR}/pgpass"},
        {"name": "BACKUP_DIR", "value": WORK_DIR},
        {"name": "AWS_REGION", "value": region},
        {"name": "HOME", "value": "/tmp"},  # noqa: S108 - the pod's own emptyDir
    ]
    bundle = f"https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem"
    token = _container("token", aws_cli_image, "token", common)
    token["command"] = [
        "sh",
        "-ec",
        f"sh {SCRIPTS_DIR}/pg_backup.sh token; "
        f"curl -fsS --proto =https -o {CA_BUNDLE_FILE} {bundle}",
    ]
    dump = _container(
        "dump",
        db_client_image,
        "dump",
        [
            *common,
            {"name": "PGSSLMODE", "value": "verify-full"},
            {"name": "PGSSLROOTCERT", "value": CA_BUNDLE_FILE},
        ],
    )
    upload = _container(
        "upload",
        aws_cli_image,
        "upload",
        [
            *common,
            {"name": "BACKUP_BUCKET", "value": bucket},
            {"name": "BACKUP_KMS_KEY_ID", "value": kms_key_id},
        ],
    )
    labels = {"app.kubernetes.io/name": "db-backup", **DATABASE_CLIENT_LABEL}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": build_cronjob_metadata(database),
        "spec": {
            "schedule": schedule,
            "timeZone": "Etc/UTC",
            # Two dumps at once would only compete for the same database.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 900,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": 1800,
                    "ttlSecondsAfterFinished": 86400,
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "serviceAccountName": DB_BACKUP.service_account,
                            "restartPolicy": "Never",
                            # Pod Identity mounts its own token; the Kubernetes API is not used.
                            "automountServiceAccountToken": False,
                            "securityContext": dict(JOB_POD_SECURITY),
                            "initContainers": [token, dump],
                            "containers": [upload],
                            "volumes": [
                                {
                                    "name": "script",
                                    "configMap": {
                                        "name": "db-backup-script",
                                        "defaultMode": 0o555,
                                    },
                                },
                                {
                                    "name": "secrets",
                                    "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"},
                                },
                                {"name": "work", "emptyDir": {"sizeLimit": "4Gi"}},
                                {"name": "home", "emptyDir": {"sizeLimit": "64Mi"}},
                            ],
                        },
                    },
                },
            },
        },
    }


@dataclass(frozen=True, kw_only=True)
class DatabaseBackupArgs:
    databases: tuple[str, ...]  # one CronJob each
    db_user: str  # signs in with IAM auth; must be able to read the whole database
    host: pulumi.Input[str]
    port: int
    bucket: pulumi.Input[str]  # the backups bucket
    kms_key_id: pulumi.Input[str]  # the bucket's key: SSE-KMS on every dump
    db_client_image: str
    aws_cli_image: str
    identity: pulumi.Resource  # the db-backup Pod Identity association
    namespace_ready: pulumi.Resource  # the database bootstrap, which creates platform-db
