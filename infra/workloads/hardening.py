"""The hardening every workload's pods get from one place: labels, security, probes, spread, PDB."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Above any user an image defines (checkov CKV_K8S_40); the app and training images run as it.
RUN_AS = 10001
ZONE_KEY = "topology.kubernetes.io/zone"
SCRATCH = "/tmp"  # noqa: S108 - every pod's own emptyDir, the root filesystem is read-only


@dataclass(frozen=True, kw_only=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def as_spec(self) -> dict[str, Any]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


SMALL = Resources(cpu_request="50m", memory_request="64Mi", cpu_limit="500m", memory_limit="256Mi")


def labels(name: str, component: str, **extra: str) -> dict[str, str]:
    """A workload's labels; its selectors are built from the same call so they cannot drift."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "mlsys",
        "app.kubernetes.io/managed-by": "pulumi",
        **extra,
    }


def selector(name: str, **extra: str) -> dict[str, str]:
    """The subset of ``labels`` that selects a workload's pods (never the mutable ones)."""
    return {"app.kubernetes.io/name": name, **extra}


def container_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security(run_as: int = RUN_AS) -> dict[str, Any]:
    """Pod Security `restricted`: non-root with a fixed UID, RuntimeDefault seccomp."""
    return {
        "runAsNonRoot": True,
        "runAsUser": run_as,
        "runAsGroup": run_as,
        "fsGroup": run_as,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container(
    *,
    name: str,
    image: str,
    resources: Resources,
    args: list[str] | None = None,
    command: list[str] | None = None,
    env: list[dict[str, Any]] | None = None,
    ports: list[dict[str, Any]] | None = None,
    mounts: list[dict[str, Any]] | None = None,
    probes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A restricted container with a writable scratch folder and explicit resources."""
    spec: dict[str, Any] = {
        "name": name,
        "image": image,
        # Digests never move; a tag (dev only) is re-pulled so a rollout gets the new build.
        "imagePullPolicy": "IfNotPresent" if "@sha256:" in image else "Always",
        "securityContext": container_security(),
        "resources": resources.as_spec(),
        "volumeMounts": [{"name": "scratch", "mountPath": SCRATCH}, *(mounts or [])],
    }
    if command is not None:
        spec["command"] = command
    if args is not None:
        spec["args"] = args
    if env:
        spec["env"] = env
    if ports:
        spec["ports"] = ports
    spec.update(probes or {})
    return spec


def http_probes(
    *,
    port: str | int,
    live: str,
    ready: str,
    startup_seconds: int = 120,
    headers: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Startup gives a slow first start time; liveness then restarts only a hung process,
    readiness takes a pod out of the Service without restarting it."""

    def get(path: str) -> dict[str, Any]:
        action: dict[str, Any] = {"path": path, "port": port, "scheme": "HTTP"}
        if headers:
            action["httpHeaders"] = headers
        return action

    period = 5
    return {
        "startupProbe": {
            "httpGet": get(live),
            "periodSeconds": period,
            "timeoutSeconds": 2,
            "failureThreshold": max(1, startup_seconds // period),
        },
        "livenessProbe": {
            "httpGet": get(live),
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": get(ready),
            "periodSeconds": period,
            "timeoutSeconds": 2,
            "failureThreshold": 2,
        },
    }


def zone_spread(match: dict[str, str]) -> list[dict[str, Any]]:
    """Replicas spread over zones (an AZ loss keeps two thirds) and, softly, over nodes."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": ZONE_KEY,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(match)},
        },
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(match)},
        },
    ]


def pod_spec(
    *,
    service_account: str,
    containers: list[dict[str, Any]],
    match: dict[str, str],
    volumes: list[dict[str, Any]] | None = None,
    init_containers: list[dict[str, Any]] | None = None,
    automount_token: bool = False,
    grace_seconds: int = 30,
    run_as: int = RUN_AS,
    scratch_limit: str = "256Mi",
) -> dict[str, Any]:
    """Every workload pod: its own service account, no API token unless it calls the API,
    restricted security, zone spread and a size-capped scratch volume."""
    spec: dict[str, Any] = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": automount_token,
        "enableServiceLinks": False,
        "securityContext": pod_security(run_as),
        "terminationGracePeriodSeconds": grace_seconds,
        "topologySpreadConstraints": zone_spread(match),
        "containers": containers,
        "volumes": [
            {"name": "scratch", "emptyDir": {"sizeLimit": scratch_limit}},
            *(volumes or []),
        ],
    }
    if init_containers:
        spec["initContainers"] = init_containers
    return spec


def rolling_deployment(
    *,
    name: str,
    namespace: str,
    labels_: dict[str, str],
    match: dict[str, str],
    pod: dict[str, Any],
    replicas: int | None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Zero-downtime rollouts: a new pod must be ready before an old one goes."""
    spec: dict[str, Any] = {
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": dict(match)},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": {
            "metadata": {
                "labels": dict(labels_),
                **({"annotations": annotations} if annotations else {}),
            },
            "spec": pod,
        },
    }
    if replicas is not None:  # None: an HPA owns the count, so a deploy never resets it
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels_)},
        "spec": spec,
    }


def build_pdb(*, name: str, namespace: str, match: dict[str, str]) -> dict[str, Any]:
    """At most one pod down by choice: node drains proceed one pod at a time, even at 1."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": dict(match)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def build_service_account(name: str, namespace: str, *, automount: bool = False) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace},
        "automountServiceAccountToken": automount,
    }
