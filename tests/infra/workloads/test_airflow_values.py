"""Airflow's chart values: executor, RDS with IAM tokens, DAG delivery, the DAG's settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from infra.foundation.service_accounts import AIRFLOW, TRAINING
from infra.platform.charts import CHARTS
from infra.platform.vault.policies import ROLES
from infra.workloads import airflow_values as af
from infra.workloads import database_client as db

REPO = Path(__file__).resolve().parents[3]
TRAINING_IMAGE = "repo/training@sha256:" + "1" * 64
SETTINGS = af.AirflowSettings(
    image="repo/airflow:3.3.2@sha256:" + "2" * 64,
    training_image=TRAINING_IMAGE,
    aws_cli_image="aws-cli@sha256:" + "3" * 64,
    region="eu-west-1",
    host="airflow.example.com",
    schedule="0 3 * * *",
    datasets_bucket="datasets-bucket",
    signing_key_arn="arn:aws:kms:eu-west-1:111122223333:key/abc",
    replicas=2,
)
VALUES = af.build_airflow_values(SETTINGS)


def test_the_chart_is_pinned_and_runs_the_release_the_dag_is_checked_against():
    assert "airflow" in CHARTS and CHARTS["airflow"].repository == "https://airflow.apache.org"
    pins = (REPO / "training" / "dags" / "airflow-requirements.txt").read_text()
    assert f"apache-airflow=={VALUES['airflowVersion']}" in pins
    assert VALUES["images"]["airflow"] == {
        "repository": "repo/airflow",
        "digest": "sha256:" + "2" * 64,
        "pullPolicy": "IfNotPresent",
    }


def test_kubernetes_executor_on_rds_without_bundled_services():
    assert VALUES["executor"] == "KubernetesExecutor"
    assert not VALUES["postgresql"]["enabled"] and not VALUES["redis"]["enabled"]
    assert VALUES["enableBuiltInSecretEnvVars"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] is False
    env = yaml.safe_load(VALUES["extraEnv"])
    names = [e["name"] for e in env]
    # $(VAR) expands only from variables defined before it.
    assert names.index("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") > names.index("DB_USER")
    conn = next(e for e in env if e["name"] == "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    assert conn["value"] == db.SQLALCHEMY_URI
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e} == {
        "airflow-database"
    }


def test_every_database_client_gets_the_token_sidecar_and_the_security_group_label():
    for component in ("scheduler", "apiServer", "dagProcessor", "triggerer", "migrateDatabaseJob"):
        values = VALUES[component]
        names = [c["name"] for c in values["extraInitContainers"]]
        assert names[0] == "db-token", component
        assert values["labels"] == db.POD_LABELS
        assert values["serviceAccount"]["name"] == AIRFLOW.service_account
    assert VALUES["migrateDatabaseJob"]["useHelmHooks"] is False


def test_dags_come_from_the_training_image_wherever_dags_are_parsed_or_run():
    for component in ("scheduler", "dagProcessor", "triggerer", "workers"):
        copy = next(c for c in VALUES[component]["extraInitContainers"] if c["name"] == "copy-dags")
        assert copy["image"] == TRAINING_IMAGE
        assert af.TRAINING_DAGS in copy["command"][-1]
    mounts = {m["name"]: m for m in VALUES["volumeMounts"]}
    assert mounts["dags"]["mountPath"] == af.DAGS_DIR and mounts["dags"]["readOnly"]


def test_the_dag_gets_every_setting_it_requires():
    env = {e["name"]: e["value"] for e in VALUES["env"]}
    assert env["MLSYS_TRAINING_IMAGE"] == TRAINING_IMAGE
    assert env["MLSYS_TRAINING_NAMESPACE"] == AIRFLOW.namespace == TRAINING.namespace
    assert env["MLSYS_TRAINING_SCHEDULE"] == "0 3 * * *"
    assert env["MLSYS_WORK_BUCKET"] == "datasets-bucket"
    assert env["MLSYS_SIGNING_KEY"] == "kms:" + SETTINGS.signing_key_arn
    assert env["MLSYS_TRAINING_SERVICE_ACCOUNT"] == TRAINING.service_account
    assert env["MLSYS_TRAINING_ENV_SECRET"] == af.TRAINING_LOGIN.secret
    assert ROLES[af.TRAINING_LOGIN.role].namespace == AIRFLOW.namespace
    required = ("MLSYS_AWS_REGION", "MLFLOW_TRACKING_URI", "MLSYS_DATASET_STORE")
    assert all(env[name] for name in required)


def test_logs_go_to_s3_and_users_log_in():
    config = VALUES["config"]
    assert config["logging"]["remote_logging"] == "True"
    assert config["logging"]["remote_base_log_folder"] == "s3://datasets-bucket/airflow-logs"
    assert config["core"]["auth_manager"].endswith("FabAuthManager")
    assert VALUES["createUserJob"]["enabled"] is False  # no password in values or state
    assert VALUES["jwtSecretName"] == VALUES["apiSecretKeySecretName"] == af.KEYS.secret


def test_pods_are_restricted_and_highly_available_outside_dev():
    pod = VALUES["securityContexts"]["pod"]
    assert pod["runAsNonRoot"] and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    container = VALUES["securityContexts"]["containers"]
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["allowPrivilegeEscalation"] is False
    assert VALUES["apiServer"]["replicas"] == 2 and VALUES["scheduler"]["replicas"] == 2
    assert VALUES["apiServer"]["podDisruptionBudget"]["enabled"] is True


def test_route_and_statsd_monitor():
    route = af.build_route("airflow.example.com")["spec"]
    assert route["parentRefs"][0]["sectionName"] == "https-airflow"
    assert route["rules"][0]["backendRefs"][0]["name"] == "airflow-api-server"
    monitor = af.build_statsd_monitor()["spec"]["endpoints"][0]
    assert {"action": "replace", "targetLabel": "job", "replacement": "airflow"} in monitor[
        "relabelings"
    ]
