"""Pure builders for MLflow: the migration Job, the authenticated server, route and policies."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Any

from infra.foundation.service_accounts import MLFLOW
from infra.platform.vault.objects import DELIVERIES, Delivery
from infra.workloads import database_client as db
from infra.workloads import hardening as hard
from infra.workloads import traffic

NAMESPACE = MLFLOW.namespace
SERVICE_ACCOUNT = MLFLOW.service_account
NAME = "mlflow"  # Service mlflow.mlflow.svc; scraped as job "mlflow" (MLflowDown alert)
PORT = 5000
DATABASE = next(d for d in DELIVERIES if d.secret == "mlflow-database")  # noqa: S105
# The basic-auth admin (created on the first start) and the Flask secret every replica
# shares; and the login Prometheus scrapes /metrics with (basic-auth protects it too).
ADMIN = Delivery("mlflow", "mlflow-admin", "admin", ("Deployment", NAME))
SCRAPE = Delivery("mlflow", "mlflow-scrape", "metrics")
AUTH_CONFIG = f"{hard.SCRATCH}/basic_auth.ini"
PROMETHEUS_DIR = f"{hard.SCRATCH}/prometheus"
RESOURCES = hard.Resources(
    cpu_request="250m", memory_request="1Gi", cpu_limit="2", memory_limit="2Gi"
)
# Callers inside the cluster use the Service's names; the UI and CLI use the public host.
SERVICE_HOSTS = (NAME, f"{NAME}.{NAMESPACE}", f"{NAME}.{NAMESPACE}.svc")


@dataclass(frozen=True, kw_only=True)
class MlflowSettings:
    image: str
    aws_cli_image: str  # the database token sidecar
    region: str
    host: str  # public name on the gateway
    vpc_cidr: str  # pod addresses: kubelet probes and Prometheus use them as Host
    artifacts_bucket: str
    replicas: int


def allowed_hosts(host: str, vpc_cidr: str) -> str:
    """--allowed-hosts: the public name, the Service's names, and the VPC's pod addresses
    (MLflow's wildcard matches a prefix; the /16 prefix covers any VPC /16 to /20)."""
    network = ipaddress.ip_network(vpc_cidr)
    octets = str(network.network_address).split(".")[:2]
    names = [host, *SERVICE_HOSTS]
    names += [f"{name}:{PORT}" for name in SERVICE_HOSTS]
    return ",".join([*names, f"{'.'.join(octets)}.*"])


def _auth_config_script() -> str:
    """basic-auth keeps its users in the same PostgreSQL database (own alembic table); the
    file is written at start-up because the database's address comes from the Secret."""
    return (
        f"printf '%s\\n' '[mlflow]' 'default_permission = READ' "
        f'"database_uri = postgresql://$DB_USER@$DB_HOST:$DB_PORT/$DB_NAME" '
        "'authorization_function = mlflow.server.auth:authenticate_request_basic_auth' "
        f"> {AUTH_CONFIG}"
    )


def server_args(settings: MlflowSettings) -> list[str]:
    return [
        "server",
        "--app-name",
        "basic-auth",
        "--host",
        "0.0.0.0",  # noqa: S104 - inside the pod
        "--port",
        str(PORT),
        "--workers",
        "2",
        "--backend-store-uri",
        db.SQLALCHEMY_URI,
        # Proxied artifacts: clients upload and download through the server, so only its
        # Pod Identity role may touch the bucket.
        "--serve-artifacts",
        "--artifacts-destination",
        f"s3://{settings.artifacts_bucket}/artifacts",
        "--default-artifact-root",
        "mlflow-artifacts:/",
        "--allowed-hosts",
        allowed_hosts(settings.host, settings.vpc_cidr),
        "--expose-prometheus",
        PROMETHEUS_DIR,
    ]


def _env(settings: MlflowSettings) -> list[dict[str, Any]]:
    def admin(key: str) -> dict[str, Any]:
        return {"secretKeyRef": {"name": ADMIN.secret, "key": key}}

    return [
        *db.connection_env(DATABASE.secret),
        {"name": "AWS_REGION", "value": settings.region},
        {"name": "HOME", "value": hard.SCRATCH},
        {"name": "MLFLOW_AUTH_CONFIG_PATH", "value": AUTH_CONFIG},
        {"name": "MLFLOW_AUTH_ADMIN_USERNAME", "valueFrom": admin("username")},
        {"name": "MLFLOW_AUTH_ADMIN_PASSWORD", "valueFrom": admin("password")},
        {"name": "MLFLOW_FLASK_SERVER_SECRET_KEY", "valueFrom": admin("flask-secret-key")},
    ]


def _pod(settings: MlflowSettings, main: dict[str, Any], match: dict[str, str]) -> dict[str, Any]:
    return hard.pod_spec(
        service_account=SERVICE_ACCOUNT,
        containers=[main],
        init_containers=[
            db.token_sidecar(
                image=settings.aws_cli_image, region=settings.region, secret=DATABASE.secret
            )
        ],
        match=match,
        volumes=[db.token_volume()],
    )


def migration_job_name(image: str) -> str:
    """A new Job for every server image, so an upgrade migrates before it rolls out."""
    return f"{NAME}-migrate-{hashlib.sha256(image.encode()).hexdigest()[:10]}"


def build_migration_job(settings: MlflowSettings) -> dict[str, Any]:
    """`mlflow db upgrade` for the tracking schema, then the auth store's own migrations,
    once, before any server replica starts on the new version."""
    script = (
        f'uri="{db.SQLALCHEMY_URI.replace("$(", "${").replace(")", "}")}"; '
        'mlflow db upgrade "$uri"; '
        "python -c 'import sys; from mlflow.server.auth.sqlalchemy_store import "
        'SqlAlchemyStore; SqlAlchemyStore().init_db(sys.argv[1])\' "$uri"'
    )
    match = hard.selector(f"{NAME}-migrate")
    main = hard.container(
        name="migrate",
        image=settings.image,
        resources=RESOURCES,
        command=["sh", "-ec", script],
        env=[*db.connection_env(DATABASE.secret), {"name": "HOME", "value": hard.SCRATCH}],
        mounts=[db.token_mount()],
    )
    pod = _pod(settings, main, match)
    pod["restartPolicy"] = "Never"
    labels = {**hard.labels(f"{NAME}-migrate", "tracking"), **db.POD_LABELS}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": migration_job_name(settings.image), "namespace": NAMESPACE},
        "spec": {
            "backoffLimit": 4,
            "activeDeadlineSeconds": 1800,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def build_deployment(settings: MlflowSettings) -> dict[str, Any]:
    match = hard.selector(NAME)
    labels = {**hard.labels(NAME, "tracking"), **db.POD_LABELS}
    main = hard.container(
        name="mlflow",
        image=settings.image,
        resources=RESOURCES,
        command=["sh", "-ec", f'{_auth_config_script()}; exec mlflow "$@"', "mlflow"],
        args=server_args(settings),
        env=_env(settings),
        ports=[{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        mounts=[db.token_mount()],
        # /health is outside basic-auth; the database and S3 are not checked by it, so a
        # database outage does not restart every replica.
        probes=hard.http_probes(port="http", live="/health", ready="/health", startup_seconds=180),
    )
    return hard.rolling_deployment(
        name=NAME,
        namespace=NAMESPACE,
        labels_=labels,
        match=match,
        pod=_pod(settings, main, match),
        replicas=settings.replicas,
    )


def build_service() -> dict[str, Any]:
    return traffic.build_service(
        name=NAME,
        namespace=NAMESPACE,
        labels=hard.labels(NAME, "tracking"),
        match=hard.selector(NAME),
        ports={"http": PORT},
    )


def build_route(host: str) -> dict[str, Any]:
    return traffic.build_https_route(
        name=NAME,
        namespace=NAMESPACE,
        purpose="mlflow",
        host=host,
        backends=[traffic.Backend(NAME, PORT, 100)],
    )


def build_pdb() -> dict[str, Any]:
    return hard.build_pdb(name=NAME, namespace=NAMESPACE, match=hard.selector(NAME))


def build_network_policy() -> dict[str, Any]:
    """In: gateway, Prometheus, the API and Airflow's tasks. Out: PostgreSQL and HTTPS (S3)."""
    return traffic.build_network_policy(
        name=NAME,
        namespace=NAMESPACE,
        match=hard.selector(NAME),
        gateway_port=PORT,
        metrics_port=PORT,
        callers={"serving": PORT, "airflow": PORT},
        external_ports=(443, 5432),
    )


def build_migration_network_policy() -> dict[str, Any]:
    return traffic.build_network_policy(
        name=f"{NAME}-migrate",
        namespace=NAMESPACE,
        match=hard.selector(f"{NAME}-migrate"),
        gateway_port=None,
        metrics_port=None,
        external_ports=(443, 5432),
    )


def build_service_monitor() -> dict[str, Any]:
    return traffic.build_service_monitor(
        name=NAME,
        namespace=NAMESPACE,
        match=hard.selector(NAME),
        port="http",
        job=NAME,
        basic_auth_secret=SCRAPE.secret,
    )


def build_service_account() -> dict[str, Any]:
    """Bound to the mlflow Pod Identity role (artifacts bucket, rds-db:connect as mlflow)."""
    return hard.build_service_account(SERVICE_ACCOUNT, NAMESPACE)
