"""The db-backup CronJob: the drill's script, in three restricted steps, on a schedule."""

from __future__ import annotations

import kubernetes_validate
import pytest

from infra.platform.database_bootstrap import DATABASE_CLIENT_LABEL
from infra.platform.operations.db_backup import (
    NAMESPACE,
    SCRIPT,
    build_backup_cronjob,
    build_network_policy,
    build_script_config_map,
    build_service_account,
)

DIGEST = "@sha256:" + "a" * 64
CRONJOB = build_backup_cronjob(
    database="mlflow",
    db_user="mlflow",
    host="db.example",
    port=5432,
    region="eu-west-1",
    bucket="mlsys-prod-backups-111122223333-eu-west-1",
    kms_key_id="arn:aws:kms:eu-west-1:111122223333:key/backups",
    db_client_image="registry.example/postgres" + DIGEST,
    aws_cli_image="registry.example/aws-cli" + DIGEST,
)
POD = CRONJOB["spec"]["jobTemplate"]["spec"]["template"]["spec"]
STEPS = [*POD["initContainers"], *POD["containers"]]


def _env(container: dict[str, object]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "manifest",
    [CRONJOB, build_script_config_map(), build_service_account(), build_network_policy()],
    ids=lambda m: m["kind"],
)
def test_objects_are_valid_kubernetes(manifest):
    kubernetes_validate.validate(manifest, "1.33", strict=True)
    assert manifest["metadata"]["namespace"] == NAMESPACE


def test_the_job_runs_the_drills_script_token_then_dump_then_upload():
    assert build_script_config_map()["data"]["pg_backup.sh"] == SCRIPT.read_text()
    assert [c["name"] for c in STEPS] == ["token", "dump", "upload"]
    assert "pg_backup.sh token" in " ".join(STEPS[0]["command"])
    assert STEPS[1]["command"][-2:] == ["/scripts/pg_backup.sh", "dump"]
    assert STEPS[2]["command"][-2:] == ["/scripts/pg_backup.sh", "upload"]
    assert STEPS[1]["image"].startswith("registry.example/postgres@")
    assert {STEPS[0]["image"], STEPS[2]["image"]} == {"registry.example/aws-cli" + DIGEST}


def test_the_dump_verifies_the_server_and_the_upload_encrypts_with_the_bucket_key():
    dump, upload = _env(STEPS[1]), _env(STEPS[2])
    assert dump["PGSSLMODE"] == "verify-full" and dump["PGDATABASE"] == "mlflow"
    assert upload["BACKUP_KMS_KEY_ID"].startswith("arn:aws:kms:")
    assert upload["BACKUP_BUCKET"].startswith("mlsys-prod-backups-")
    # The token lives in a memory volume only, never in the pod spec.
    assert all("PGPASSWORD" not in _env(c) for c in STEPS)
    assert {"name": "secrets", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}} in (
        POD["volumes"]
    )


def test_one_run_at_a_time_restricted_and_reaching_the_database():
    spec = CRONJOB["spec"]
    assert spec["schedule"] == "17 * * * *" and spec["concurrencyPolicy"] == "Forbid"
    assert POD["serviceAccountName"] == "db-backup"
    assert POD["automountServiceAccountToken"] is False
    assert POD["securityContext"]["runAsNonRoot"] is True
    for container in STEPS:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
        assert security["capabilities"] == {"drop": ["ALL"]}
    labels = CRONJOB["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert DATABASE_CLIENT_LABEL.items() <= labels.items()
