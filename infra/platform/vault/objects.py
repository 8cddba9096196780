"""Pure builders for Vault's Kubernetes objects: its CA and certificate, VSO's objects, the Job."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from infra.platform.vault.policies import (
    AUTH_MOUNT,
    CONFIGURER_ROLE,
    KV_MOUNT,
    NAMESPACE,
    ROLES,
    TOKEN_AUDIENCE,
    build_configure_script,
)
from infra.platform.vault.values import (
    ACTIVE_ADDRESS,
    CA_FILE,
    INTERNAL_SERVICE,
    TLS_DIR,
    TLS_SECRET,
)

CA_SECRET = "vault-ca"  # noqa: S105 - a Secret's name
CONFIGURE_SCRIPT_MAP = "vault-configure"
SA_TOKEN_FILE = "/var/run/secrets/vault/token"  # noqa: S105 - a path
RUN_AS = 10001
CERT_API = "cert-manager.io/v1"
VSO_API = "secrets.hashicorp.com/v1beta1"


@dataclass(frozen=True)
class Delivery:
    """A Kubernetes Secret VSO keeps in step with one KV secret, read with one role."""

    role: str  # a key of policies.ROLES; the Secret lands in that role's namespace
    secret: str  # the Kubernetes Secret's name
    kv_path: str  # under the role's prefix
    restart: tuple[str, str] | None = None  # (kind, name) to roll when the secret changes
    secret_type: str | None = None  # the Kubernetes Secret's type; None: Opaque


DELIVERIES: tuple[Delivery, ...] = (
    Delivery("mlflow", "mlflow-database", "database"),
    Delivery("airflow", "airflow-database", "database"),
    Delivery("serving", "api-key-hashes", "api-keys"),
    Delivery("grafana", "grafana-admin", "admin", ("Deployment", "kube-prometheus-stack-grafana")),
    Delivery("alertmanager", "alertmanager-receivers", "receivers"),
    # ECK reads a basic-auth Secret as a file realm user (username, password, roles).
    Delivery(
        "fluent-bit",
        "fluent-bit-es-user",
        "fluent-bit",
        ("DaemonSet", "fluent-bit"),
        "kubernetes.io/basic-auth",
    ),
)


def _meta(name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
    return {"name": name, "namespace": namespace}


def build_ca_objects() -> list[dict[str, Any]]:
    """A self-signed root issues the CA that signs Vault's listener certificate."""
    return [
        {
            "apiVersion": CERT_API,
            "kind": "Issuer",
            "metadata": _meta("vault-selfsigned"),
            "spec": {"selfSigned": {}},
        },
        {
            "apiVersion": CERT_API,
            "kind": "Certificate",
            "metadata": _meta("vault-ca"),
            "spec": {
                "isCA": True,
                "commonName": "mlsys vault CA",
                "secretName": CA_SECRET,
                "duration": "87600h",  # ten years: clients pin it through the TLS Secret
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"kind": "Issuer", "name": "vault-selfsigned"},
            },
        },
        {
            "apiVersion": CERT_API,
            "kind": "Issuer",
            "metadata": _meta("vault-ca"),
            "spec": {"ca": {"secretName": CA_SECRET}},
        },
    ]


def build_server_certificate(replicas: int) -> dict[str, Any]:
    """Names every client and raft peer uses: the Services and each pod's internal name."""
    services = ["vault", "vault-active", "vault-standby", INTERNAL_SERVICE]
    names = [n for s in services for n in (s, f"{s}.{NAMESPACE}.svc")]
    names += [f"vault-{i}.{INTERNAL_SERVICE}" for i in range(replicas)]
    return {
        "apiVersion": CERT_API,
        "kind": "Certificate",
        "metadata": _meta("vault-server"),
        "spec": {
            "secretName": TLS_SECRET,
            "dnsNames": names,
            "ipAddresses": ["127.0.0.1"],  # the CLI inside each pod talks to itself
            "duration": "2160h",
            "renewBefore": "720h",
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "issuerRef": {"kind": "Issuer", "name": "vault-ca"},
        },
    }


def build_service_account(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(name, namespace),
        "automountServiceAccountToken": False,
    }


def build_vault_auth(role: str) -> dict[str, Any]:
    """How VSO logs in for ``role``: that role's own service account, audience-bound."""
    spec = ROLES[role]
    return {
        "apiVersion": VSO_API,
        "kind": "VaultAuth",
        "metadata": _meta(role, spec.namespace),
        "spec": {
            "method": "kubernetes",
            "mount": AUTH_MOUNT,
            "kubernetes": {
                "role": role,
                "serviceAccount": spec.service_account,
                "audiences": [TOKEN_AUDIENCE],
            },
        },
    }


def build_static_secret(delivery: Delivery) -> dict[str, Any]:
    role = ROLES[delivery.role]
    spec: dict[str, Any] = {
        "vaultAuthRef": delivery.role,
        "type": "kv-v2",
        "mount": KV_MOUNT,
        "path": f"{role.kv_prefix}/{delivery.kv_path}",
        "refreshAfter": "5m",
        "destination": {"name": delivery.secret, "create": True},
    }
    if delivery.secret_type:
        spec["destination"]["type"] = delivery.secret_type
    if delivery.restart:
        kind, name = delivery.restart
        spec["rolloutRestartTargets"] = [{"kind": kind, "name": name}]
    return {
        "apiVersion": VSO_API,
        "kind": "VaultStaticSecret",
        "metadata": _meta(delivery.secret, role.namespace),
        "spec": spec,
    }


def build_configure_script_map() -> dict[str, Any]:
    """The script as a ConfigMap: the Job runs it, and the init runbook runs the same file."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(CONFIGURE_SCRIPT_MAP),
        "data": {"configure.sh": build_configure_script()},
    }


def configure_job_name(script: str) -> str:
    """A new name whenever the script changes, so a changed configuration runs again."""
    digest = hashlib.sha256(script.encode()).hexdigest()[:10]
    return f"vault-configure-{digest}"


def build_configure_job(image: str) -> dict[str, Any]:
    """A restricted-PSS Job applying the script with the configurer role's short token."""
    container = {
        "name": "configure",
        "image": image,
        "command": ["sh", "/scripts/configure.sh"],
        "env": [
            {"name": "VAULT_ADDR", "value": ACTIVE_ADDRESS},
            {"name": "VAULT_CACERT", "value": CA_FILE},
            {"name": "SA_TOKEN_FILE", "value": SA_TOKEN_FILE},
            {"name": "HOME", "value": "/tmp"},  # noqa: S108 - the pod's own emptyDir
        ],
        "volumeMounts": [
            {"name": "scripts", "mountPath": "/scripts", "readOnly": True},
            {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
            {"name": "token", "mountPath": "/var/run/secrets/vault", "readOnly": True},
            {"name": "home", "mountPath": "/tmp"},  # noqa: S108
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
    }
    token = {
        "serviceAccountToken": {
            "path": "token",
            "audience": TOKEN_AUDIENCE,
            "expirationSeconds": 600,
        }
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            **_meta(configure_job_name(build_configure_script())),
            # Before `vault operator init` the Job cannot log in; a first deploy must not
            # wait for it (docs/runbooks/vault.md runs the script by hand then).
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        "spec": {
            "backoffLimit": 10,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "vault-configure"}},
                "spec": {
                    "serviceAccountName": CONFIGURER_ROLE.service_account,
                    "restartPolicy": "OnFailure",
                    # Only the audience-bound projected token below reaches the container.
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS,
                        "runAsGroup": RUN_AS,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "scripts", "configMap": {"name": CONFIGURE_SCRIPT_MAP}},
                        {
                            "name": "tls",
                            "secret": {"secretName": TLS_SECRET, "items": [_ca_item()]},
                        },
                        {"name": "token", "projected": {"sources": [token]}},
                        {"name": "home", "emptyDir": {"sizeLimit": "16Mi"}},
                    ],
                },
            },
        },
    }


def _ca_item() -> dict[str, str]:
    # Only the CA: the Job has no use for the server's private key.
    return {"key": "ca.crt", "path": "ca.crt"}
