"""Pure builders for Airflow: the official chart's values, and the objects beside the release."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from infra.foundation.service_accounts import AIRFLOW, TRAINING
from infra.platform.vault.objects import DELIVERIES, Delivery
from infra.workloads import database_client as db
from infra.workloads import hardening as hard
from infra.workloads import traffic

NAMESPACE = AIRFLOW.namespace
SERVICE_ACCOUNT = AIRFLOW.service_account  # every Airflow component: the airflow Pod Identity role
TRAINING_ACCOUNT = TRAINING.service_account  # the step pods the DAG starts
RELEASE = "airflow"
API_SERVICE = f"{RELEASE}-api-server"  # <release>-api-server, port 8080
API_PORT = 8080
STATSD_SERVICE = f"{RELEASE}-statsd"  # the chart's statsd exporter, scraped on 9102
UID = 50000  # the apache/airflow image's user
AIRFLOW_VERSION = (
    "3.3.2"  # training/dags/airflow-requirements.txt: the release the DAG is checked against
)
DAGS_DIR = "/opt/airflow/dags"
TRAINING_DAGS = "/srv/training/dags"  # training/Dockerfile copies training/ to /srv/training
DATABASE = next(d for d in DELIVERIES if d.secret == "airflow-database")  # noqa: S105
# fernet-key, api-secret-key and jwt-secret: the key names the chart reads from it.
KEYS = Delivery("airflow", "airflow-keys", "keys")
# The step pods' MLflow login (MLSYS_TRAINING_ENV_SECRET): keys MLFLOW_TRACKING_USERNAME and
# MLFLOW_TRACKING_PASSWORD become the pods' environment.
TRAINING_LOGIN = Delivery("training", "training-mlflow", "mlflow")
MLFLOW_URI = "http://mlflow.mlflow.svc:5000"
LOGS_PREFIX = "airflow-logs"
WORK_PREFIX = "training-work"
SNAPSHOTS_PREFIX = "snapshots"
LOGS_CONNECTION = "aws_logs"
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


@dataclass(frozen=True, kw_only=True)
class AirflowSettings:
    image: str  # repository:tag or repository@sha256:...
    training_image: str
    aws_cli_image: str
    region: str
    host: str
    schedule: str
    datasets_bucket: str  # work folders, dataset snapshots and task logs, each its own prefix
    signing_key_arn: str
    replicas: int


def _image(image: str) -> dict[str, Any]:
    if "@" in image:
        repository, digest = image.split("@", 1)
        return {"repository": repository.rsplit(":", 1)[0], "digest": digest}
    repository, _, tag = image.rpartition(":")
    return {"repository": repository, "tag": tag}


def dag_environment(settings: AirflowSettings) -> list[dict[str, str]]:
    """What the DAG reads when it is parsed (docs/training-on-airflow.md, "Settings")."""
    values = {
        "MLSYS_TRAINING_IMAGE": settings.training_image,
        "MLSYS_TRAINING_NAMESPACE": NAMESPACE,
        "MLSYS_TRAINING_SCHEDULE": settings.schedule,
        "MLSYS_WORK_BUCKET": settings.datasets_bucket,
        "MLSYS_WORK_PREFIX": WORK_PREFIX,
        "MLSYS_AWS_REGION": settings.region,
        "MLFLOW_TRACKING_URI": MLFLOW_URI,
        "MLSYS_DATASET_STORE": f"s3://{settings.datasets_bucket}/{SNAPSHOTS_PREFIX}",
        "MLSYS_SIGNING_KEY": f"kms:{settings.signing_key_arn}",
        "MLSYS_TRAINING_SERVICE_ACCOUNT": TRAINING_ACCOUNT,
        "MLSYS_TRAINING_ENV_SECRET": TRAINING_LOGIN.secret,
        # Pod Identity credentials through boto3's default chain, in this region.
        f"AIRFLOW_CONN_{LOGS_CONNECTION.upper()}": (
            f'{{"conn_type": "aws", "extra": {{"region_name": "{settings.region}"}}}}'
        ),
    }
    return [{"name": name, "value": value} for name, value in values.items()]


def database_environment() -> str:
    """The chart's ``extraEnv`` (a YAML string): libpq settings, then the URI built from them
    (Kubernetes expands $(VAR) from variables defined earlier in the list)."""
    env = [
        *db.connection_env(DATABASE.secret),
        {"name": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "value": db.SQLALCHEMY_URI},
    ]
    return yaml.safe_dump(env, sort_keys=False)


def _copy_dags(image: str) -> dict[str, Any]:
    """The DAG ships in the training image: the same commit and digest as the steps it runs."""
    return hard.container(
        name="copy-dags",
        image=image,
        resources=hard.SMALL,
        command=["sh", "-ec", f"cp -R {TRAINING_DAGS}/. {DAGS_DIR}/"],
        mounts=[{"name": "dags", "mountPath": DAGS_DIR}],
    )


def _component(
    settings: AirflowSettings,
    *,
    replicas: int | None,
    resources: hard.Resources,
    database: bool,
    dags: bool,
) -> dict[str, Any]:
    init: list[dict[str, Any]] = []
    if database:
        init.append(
            db.token_sidecar(
                image=settings.aws_cli_image, region=settings.region, secret=DATABASE.secret
            )
        )
    if dags:
        init.append(_copy_dags(settings.training_image))
    values: dict[str, Any] = {
        "serviceAccount": {"create": False, "name": SERVICE_ACCOUNT},
        "resources": resources.as_spec(),
        "extraInitContainers": init,
        # The migrations wait would run before the token sidecar and never connect; the
        # components retry until the migration Job is done instead.
        "waitForMigrations": {"enabled": False},
        "labels": dict(db.POD_LABELS) if database else {},
    }
    if replicas is not None:
        values["replicas"] = replicas
    return values


def build_airflow_values(settings: AirflowSettings) -> dict[str, Any]:
    """Values for apache-airflow chart 1.22.0, running Airflow 3.3.2 with KubernetesExecutor."""
    big = hard.Resources(
        cpu_request="250m", memory_request="1Gi", cpu_limit="1", memory_limit="2Gi"
    )
    small = hard.Resources(
        cpu_request="100m", memory_request="512Mi", cpu_limit="500m", memory_limit="1Gi"
    )
    ha = settings.replicas > 1
    scheduler = _component(
        settings, replicas=settings.replicas, resources=big, database=True, dags=True
    )
    api = _component(settings, replicas=settings.replicas, resources=big, database=True, dags=False)
    api["podDisruptionBudget"] = {"enabled": ha, "config": {"maxUnavailable": 1}}
    scheduler["podDisruptionBudget"] = {"enabled": ha, "config": {"maxUnavailable": 1}}
    dag_processor = _component(settings, replicas=1, resources=big, database=True, dags=True)
    dag_processor["enabled"] = True
    triggerer = _component(settings, replicas=1, resources=small, database=True, dags=True)
    triggerer["persistence"] = {"enabled": False}  # logs go to S3
    # The executor's task pods: Airflow 3 tasks reach the API server, not the database.
    workers = {
        "serviceAccount": {"create": False, "name": SERVICE_ACCOUNT},
        "resources": small.as_spec(),
        "extraInitContainers": [_copy_dags(settings.training_image)],
        "persistence": {"enabled": False},
    }
    migrate = {
        # A plain Job, not a hook: with --wait (atomic) a post-install hook would wait for
        # components that wait for it.
        "useHelmHooks": False,
        "applyCustomEnv": True,
        "serviceAccount": {"create": False, "name": SERVICE_ACCOUNT},
        "extraInitContainers": [
            db.token_sidecar(
                image=settings.aws_cli_image, region=settings.region, secret=DATABASE.secret
            )
        ],
        "labels": dict(db.POD_LABELS),
        "resources": small.as_spec(),
    }
    return {
        "airflowVersion": AIRFLOW_VERSION,
        "images": {"airflow": {**_image(settings.image), "pullPolicy": "IfNotPresent"}},
        "executor": "KubernetesExecutor",
        "uid": UID,
        "gid": 0,
        "securityContexts": {
            "pod": {
                "runAsNonRoot": True,
                "runAsUser": UID,
                "runAsGroup": 0,
                "fsGroup": 0,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": hard.container_security() | {"readOnlyRootFilesystem": False},
        },
        "topologySpreadConstraints": hard.zone_spread({"release": RELEASE}),
        # The metadata database is RDS; no bundled PostgreSQL, Redis or PgBouncer.
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
        "pgbouncer": {"enabled": False},
        "data": {"metadataSecretName": DATABASE.secret},
        "enableBuiltInSecretEnvVars": {
            "AIRFLOW__CORE__SQL_ALCHEMY_CONN": False,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": False,
            "AIRFLOW_CONN_AIRFLOW_DB": False,
        },
        "extraEnv": database_environment(),
        "env": dag_environment(settings),
        "fernetKeySecretName": KEYS.secret,
        "apiSecretKeySecretName": KEYS.secret,
        "jwtSecretName": KEYS.secret,
        "volumes": [
            {"name": "dags", "emptyDir": {"sizeLimit": "64Mi"}},
            db.token_volume(),
            {"name": "scratch", "emptyDir": {"sizeLimit": "256Mi"}},
        ],
        "volumeMounts": [
            {"name": "dags", "mountPath": DAGS_DIR, "readOnly": True},
            db.token_mount(),
        ],
        "dags": {"persistence": {"enabled": False}, "gitSync": {"enabled": False}},
        "logs": {"persistence": {"enabled": False}},
        "config": {
            "core": {
                "load_examples": "False",
                # Users and roles in the metadata database; the admin is created once by hand.
                "auth_manager": FAB_AUTH_MANAGER,
            },
            "api": {"base_url": f"https://{settings.host}"},
            "logging": {
                "remote_logging": "True",
                "remote_base_log_folder": f"s3://{settings.datasets_bucket}/{LOGS_PREFIX}",
                "remote_log_conn_id": LOGS_CONNECTION,
                "encrypt_s3_logs": "False",  # the bucket encrypts with its customer key
            },
            "kubernetes_executor": {"namespace": NAMESPACE, "delete_worker_pods": "True"},
        },
        "createUserJob": {"enabled": False},  # no password in values or state
        "migrateDatabaseJob": migrate,
        "scheduler": {
            **scheduler,
            # The executor creates task pods: the chart binds its namespaced pod-launcher Role
            # to this account (never cluster-wide: multiNamespaceMode stays off).
            "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        },
        "apiServer": api,
        "dagProcessor": dag_processor,
        "triggerer": triggerer,
        "workers": workers,
        "rbac": {"create": True},
        "multiNamespaceMode": False,
        "allowPodLaunching": True,
        "statsd": {"enabled": True},
        # The namespace's default deny and build_network_policy decide Airflow's traffic.
        "networkPolicies": {"enabled": False},
    }


def build_network_policy() -> dict[str, Any]:
    """Airflow's pods talk to each other (task pods to the API server, the scheduler to the
    executor's pods, Prometheus to statsd); out, HTTPS reaches S3, KMS and the Kubernetes API."""
    same: dict[str, Any] = {"podSelector": {}}
    policy = traffic.build_network_policy(
        name=RELEASE,
        namespace=NAMESPACE,
        match={},
        gateway_port=API_PORT,
        metrics_port=9102,
        external_ports=(443, 5432),
    )
    policy["spec"]["podSelector"] = {}
    policy["spec"]["ingress"].append({"from": [same]})
    policy["spec"]["egress"].append({"to": [same]})
    return policy


def build_route(host: str) -> dict[str, Any]:
    return traffic.build_https_route(
        name=RELEASE,
        namespace=NAMESPACE,
        purpose="airflow",
        host=host,
        backends=[traffic.Backend(API_SERVICE, API_PORT, 100)],
    )


def build_statsd_monitor() -> dict[str, Any]:
    """The chart's statsd exporter: airflow_dagrun_duration_* for the training alerts."""
    return traffic.build_service_monitor(
        name=STATSD_SERVICE,
        namespace=NAMESPACE,
        match={"component": "statsd", "release": RELEASE},
        port="statsd-scrape",
        job="airflow",
    )


def build_training_service_account() -> dict[str, Any]:
    """The step pods' account, bound to the training Pod Identity role; they never call the
    Kubernetes API."""
    return hard.build_service_account(TRAINING_ACCOUNT, NAMESPACE)
