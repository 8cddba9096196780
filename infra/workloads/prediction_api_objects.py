"""Pure builders for the prediction API: stable and canary Deployments, route, HPA, policies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from infra.foundation.service_accounts import SERVING
from infra.platform.gateway_objects import API_ROUTE
from infra.platform.monitoring.custom_metrics import IN_FLIGHT_METRIC
from infra.platform.vault.objects import DELIVERIES, Delivery
from infra.workloads import hardening as hard
from infra.workloads import traffic

NAMESPACE = SERVING.namespace
SERVICE_ACCOUNT = SERVING.service_account
NAME = API_ROUTE  # "prediction-api": the route, the stable Deployment and its Service
CANARY = f"{NAME}-canary"  # pods prediction-api-canary-*, as the canary analysis selects
HTTP_PORT = 8000  # app/wiring/settings.py: MLSYS_API_PORT
METRICS_PORT = 9090  # MLSYS_API_METRICS_PORT, never routed by the gateway
KEYS_DIR = "/etc/mlsys/api-keys"
SIGNING_DIR = "/etc/mlsys/signing"
SIGNING_KEY_FILE = f"{SIGNING_DIR}/model-signing.pem"
MLFLOW_URI = "http://mlflow.mlflow.svc:5000"
# The API-key hash file (the platform delivers it) and the API's read-only MLflow login.
API_KEYS = next(d for d in DELIVERIES if d.secret == "api-key-hashes")  # noqa: S105
MLFLOW_LOGIN = Delivery("serving", "mlflow-client", "mlflow", ("Deployment", NAME))
Track = Literal["stable", "canary"]
RESOURCES = hard.Resources(
    cpu_request="250m", memory_request="512Mi", cpu_limit="1", memory_limit="1Gi"
)
# SIGTERM starts MLSYS_API_SHUTDOWN_DRAIN_SECONDS (5) of failing readiness, then up to
# MLSYS_API_SHUTDOWN_GRACE_SECONDS (20) for requests in flight: the kill comes after both.
# Mean requests in flight per pod the HPA aims at. In make bench (docs/benchmarks.md) one
# worker gives 75-95 % of its peak throughput at 4 concurrent requests, p99 under 2.5 ms,
# for every model kind; each request more in flight mostly adds queueing (p50 2 ms at 8,
# 4 ms at 16, 7-8 ms at 32) for at most a quarter more throughput: past the target,
# another pod helps more than more queueing.
IN_FLIGHT_TARGET = "4"
GRACE_SECONDS = 40


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    region: str
    host: str  # the public name on the gateway
    aws_cli_image: str  # fetches the model-signing public key from KMS
    signing_key_arn: str


def deployment_name(track: Track) -> str:
    return NAME if track == "stable" else CANARY


def pod_labels(track: Track) -> dict[str, str]:
    return hard.labels(NAME, "serving", track=track)


def pod_selector(track: Track) -> dict[str, str]:
    return hard.selector(NAME, track=track)


def _fetch_signing_key(settings: ApiSettings) -> dict[str, Any]:
    """KMS hands out the DER public key in base64; PEM is that, folded, between markers."""
    script = (
        "umask 022; tmp=" + SIGNING_KEY_FILE + ".tmp; "
        '{ echo "-----BEGIN PUBLIC KEY-----"; '
        'aws kms get-public-key --key-id "$SIGNING_KEY_ARN" --query PublicKey --output text '
        '| fold -w 64; echo "-----END PUBLIC KEY-----"; } > "$tmp"; '
        f'mv "$tmp" {SIGNING_KEY_FILE}'
    )
    return hard.container(
        name="fetch-signing-key",
        image=settings.aws_cli_image,
        resources=hard.SMALL,
        command=["sh", "-ec", script],
        env=[
            {"name": "SIGNING_KEY_ARN", "value": settings.signing_key_arn},
            {"name": "AWS_REGION", "value": settings.region},
            {"name": "HOME", "value": hard.SCRATCH},
        ],
        mounts=[{"name": "signing", "mountPath": SIGNING_DIR}],
    )


def _env() -> list[dict[str, Any]]:
    def login(key: str) -> dict[str, Any]:
        return {"secretKeyRef": {"name": MLFLOW_LOGIN.secret, "key": key}}

    return [
        {"name": "MLSYS_API_HOST", "value": "0.0.0.0"},  # noqa: S104 - inside the pod
        {"name": "MLSYS_API_PORT", "value": str(HTTP_PORT)},
        {"name": "MLSYS_API_METRICS_PORT", "value": str(METRICS_PORT)},
        {"name": "MLSYS_API_API_KEYS_FILE", "value": f"{KEYS_DIR}/{API_KEYS.kv_path}"},
        {"name": "MLSYS_API_MODEL_SIGNING_PUBLIC_KEY_FILE", "value": SIGNING_KEY_FILE},
        {"name": "MLSYS_API_MODEL_CACHE_DIR", "value": f"{hard.SCRATCH}/models"},
        # Longer than the gateway's idle upstream connections (NGINX: 60 s), so the API never
        # closes one the gateway is about to reuse; only the gateway reaches the pods.
        {"name": "MLSYS_API_KEEP_ALIVE_TIMEOUT_SECONDS", "value": "75"},
        {"name": "MLSYS_HOME", "value": f"{hard.SCRATCH}/mlsys"},
        {"name": "MLFLOW_TRACKING_URI", "value": MLFLOW_URI},
        {"name": "MLFLOW_TRACKING_USERNAME", "valueFrom": login("username")},
        {"name": "MLFLOW_TRACKING_PASSWORD", "valueFrom": login("password")},
    ]


def build_deployment(
    track: Track, image: str, settings: ApiSettings, *, replicas: int | None = None
) -> dict[str, Any]:
    """One backend of the API; the HPA owns the replica count, so ``replicas`` stays None."""
    api = hard.container(
        name="api",
        image=image,
        resources=RESOURCES,
        env=_env(),
        ports=[
            {"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        mounts=[
            {"name": "api-keys", "mountPath": KEYS_DIR, "readOnly": True},
            {"name": "signing", "mountPath": SIGNING_DIR, "readOnly": True},
        ],
        # Liveness asks only "is the process answering"; readiness waits for a model.
        probes=hard.http_probes(port="http", live="/healthz", ready="/readyz", startup_seconds=60),
    )
    # A directory mount (not subPath), so a key rotation reaches the running pods.
    keys = {
        "name": "api-keys",
        "secret": {
            "secretName": API_KEYS.secret,
            "defaultMode": 0o440,
            "items": [{"key": API_KEYS.kv_path, "path": API_KEYS.kv_path}],
        },
    }
    signing = {"name": "signing", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}
    pod = hard.pod_spec(
        service_account=SERVICE_ACCOUNT,
        containers=[api],
        init_containers=[_fetch_signing_key(settings)],
        match=pod_selector(track),
        volumes=[keys, signing],
        grace_seconds=GRACE_SECONDS,
        scratch_limit="2Gi",  # downloaded model versions wait here for their checks
    )
    return hard.rolling_deployment(
        name=deployment_name(track),
        namespace=NAMESPACE,
        labels_=pod_labels(track),
        match=pod_selector(track),
        pod=pod,
        replicas=replicas,
    )


def build_service(track: Track) -> dict[str, Any]:
    return traffic.build_service(
        name=deployment_name(track),
        namespace=NAMESPACE,
        labels=hard.labels(NAME, "serving", track=track),
        match=pod_selector(track),
        ports={"http": HTTP_PORT, "metrics": METRICS_PORT},
    )


def build_route(host: str, canary_weight: int) -> dict[str, Any]:
    """All requests to stable, or ``canary_weight`` percent of them to the canary."""
    backends = [traffic.Backend(NAME, HTTP_PORT, 100 - canary_weight)]
    if canary_weight:
        backends.append(traffic.Backend(CANARY, HTTP_PORT, canary_weight))
    return traffic.build_https_route(
        name=NAME, namespace=NAMESPACE, purpose="api", host=host, backends=backends
    )


def build_hpa(track: Track, min_replicas: int, max_replicas: int) -> dict[str, Any]:
    """Scale on CPU, memory and in-flight requests; scale down slowly, so a dip does not flap.

    In-flight requests (from the custom metrics API, platform/monitoring/custom_metrics.py)
    catch what CPU misses: a pod queueing behind a slow model, or waiting on I/O. If that
    API is down the HPA still scales up on CPU and memory, and does not scale down.
    """

    def utilisation(resource: str, percent: int) -> dict[str, Any]:
        return {
            "type": "Resource",
            "resource": {
                "name": resource,
                "target": {"type": "Utilization", "averageUtilization": percent},
            },
        }

    name = deployment_name(track)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                utilisation("cpu", 70),
                utilisation("memory", 80),
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": IN_FLIGHT_METRIC},
                        "target": {"type": "AverageValue", "averageValue": IN_FLIGHT_TARGET},
                    },
                },
            ],
            "behavior": {
                "scaleDown": {
                    "stabilizationWindowSeconds": 300,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                },
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}],
                },
            },
        },
    }


def canary_min_replicas(weight: int, stable_min: int) -> int:
    """The canary starts with its share of stable's floor, at least one pod."""
    return max(1, -(-stable_min * weight // 100))


def build_pdb(track: Track) -> dict[str, Any]:
    return hard.build_pdb(
        name=deployment_name(track), namespace=NAMESPACE, match=pod_selector(track)
    )


def build_network_policy() -> dict[str, Any]:
    """In: the gateway on the API port, Prometheus on the metrics port. Out: MLflow, and
    HTTPS for KMS (the signing key) and S3; nothing else."""
    return traffic.build_network_policy(
        name=NAME,
        namespace=NAMESPACE,
        match=hard.selector(NAME),
        gateway_port=HTTP_PORT,
        metrics_port=METRICS_PORT,
        to_namespaces={"mlflow": 5000},
    )


def build_service_monitor() -> dict[str, Any]:
    """Both backends as job prediction-api; each series keeps its pod's ``track``."""
    return traffic.build_service_monitor(
        name=NAME,
        namespace=NAMESPACE,
        match=hard.selector(NAME),
        port="metrics",
        job=NAME,
        pod_labels=("track",),
    )


def build_service_account() -> dict[str, Any]:
    """Bound to the serving Pod Identity role; the API never calls the Kubernetes API."""
    return hard.build_service_account(SERVICE_ACCOUNT, NAMESPACE)
