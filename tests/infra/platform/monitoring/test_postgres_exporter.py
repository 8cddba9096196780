"""postgres-exporter: the metric DatabaseDown reads, signed in as the monitoring user by IAM."""

from __future__ import annotations

import json
import subprocess

import yaml

from infra.foundation.database import MONITORING_USER
from infra.foundation.service_accounts import POSTGRES_EXPORTER
from infra.foundation.workload_identity import WORKLOADS
from infra.platform.charts import CHARTS
from infra.platform.database_bootstrap import DATABASE_CLIENT_LABEL, bootstrap_sql
from infra.platform.monitoring.postgres_exporter import (
    CA_FILE,
    JOB,
    PASS_FILE,
    build_postgres_exporter_values,
    token_script,
)
from infra.platform.monitoring.rules import RULES_DIR

DIGEST = "@sha256:" + "a" * 64
VALUES = build_postgres_exporter_values(
    host="db.example", port=5432, region="eu-west-1", aws_cli_image="aws-cli" + DIGEST
)


def test_the_service_is_the_job_the_alert_queries():
    rules = yaml.safe_load((RULES_DIR / "dependencies.yaml").read_text())
    (down,) = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "DatabaseDown"]
    assert f'pg_up{{job="{JOB}"}}' in down["expr"] and "absent(" in down["expr"]
    # The operator names the job after the Service, which fullnameOverride names.
    assert VALUES["fullnameOverride"] == JOB
    assert VALUES["serviceMonitor"]["enabled"] is True
    assert "prometheus-postgres-exporter" in CHARTS


def test_it_signs_in_as_the_monitoring_user_with_a_token_file_not_a_password():
    source = VALUES["config"]["datasource"]
    assert source["user"] == MONITORING_USER
    assert source["pgpassfile"] == PASS_FILE
    assert not source.get("password") and not source.get("passwordSecret")
    assert source["sslmode"] == "verify-full" and source["extraParams"] == f"sslrootcert={CA_FILE}"
    assert "password" not in json.dumps(VALUES).lower().replace("pgpassfile", "")
    (sidecar,) = VALUES["initContainers"]
    assert sidecar["restartPolicy"] == "Always" and "@sha256:" in sidecar["image"]
    env = {e["name"]: e["value"] for e in sidecar["env"]}
    assert env["DB_USER"] == MONITORING_USER and env["DB_HOST"] == "db.example"
    mounts = {m["name"]: m for m in VALUES["extraVolumeMounts"]}
    assert mounts["db-token"]["readOnly"] is True


def test_the_pod_runs_restricted_with_the_database_clients_label_and_its_pod_identity():
    pod = VALUES["podSecurityContext"]
    assert pod["runAsNonRoot"] and pod["runAsUser"] >= 10000
    for ctx in (VALUES["securityContext"], VALUES["initContainers"][0]["securityContext"]):
        assert ctx["readOnlyRootFilesystem"] and ctx["capabilities"] == {"drop": ["ALL"]}
    assert VALUES["podLabels"] == DATABASE_CLIENT_LABEL
    assert VALUES["serviceAccount"]["name"] == POSTGRES_EXPORTER.service_account
    assert WORKLOADS["postgres-exporter"] == POSTGRES_EXPORTER


def test_the_monitoring_role_gets_pg_monitor_and_no_database():
    sql = bootstrap_sql(("mlflow",), MONITORING_USER)
    assert f"GRANT pg_monitor TO {MONITORING_USER};" in sql
    assert f"GRANT rds_iam TO {MONITORING_USER};" in sql
    assert f"DATABASE {MONITORING_USER}" not in sql
    assert MONITORING_USER not in bootstrap_sql(("mlflow",))


def test_the_token_lands_escaped_in_a_pgpass_line(tmp_path):
    """The sidecar's own loop, one round, with a fake aws CLI whose token has ':' and '\\'."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in {
        "aws": "printf '%s' 'host:5432/?Action=connect&X=a\\b'",
        "curl": 'while [ "$1" != -o ]; do shift; done; : > "$2"',
        "sleep": "exit 7",
    }.items():
        (bin_dir / tool).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / tool).chmod(0o755)
    script = token_script("eu-west-1").replace("/var/run/mlsys/db", str(tmp_path))
    result = subprocess.run(
        ["sh", "-ec", script],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "DB_HOST": "db.example",
            "DB_PORT": "5432",
            "DB_USER": MONITORING_USER,
            "AWS_REGION": "eu-west-1",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 7, result.stderr
    line = (tmp_path / "pgpass").read_text()
    assert line == "db.example:5432:*:monitoring:host\\:5432/?Action=connect&X=a\\\\b\n"
    assert (tmp_path / "pgpass").stat().st_mode & 0o077 == 0
