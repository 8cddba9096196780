"""Helm values for the Vault server and Vault Secrets Operator, per stack."""

from __future__ import annotations

from typing import Any

from infra.foundation.service_accounts import VAULT
from infra.platform.vault.policies import NAMESPACE

TLS_SECRET = "vault-tls"  # noqa: S105 - the name of the cert-manager Secret, not a secret
TLS_DIR = "/vault/userconfig/tls"
CA_FILE = f"{TLS_DIR}/ca.crt"
# <release>-active: the chart's Service that selects only the raft leader.
ACTIVE_ADDRESS = f"https://vault-active.{NAMESPACE}.svc:8200"
INTERNAL_SERVICE = "vault-internal"  # the chart's headless Service, one DNS name per pod
# Seccomp and dropped capabilities: what Pod Security `restricted` requires of every pod.
POD_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
# Setting the pod context replaces the chart's default, so its user, group and fsGroup are
# restated: without fsGroup the vault user (100) cannot write the raft volume.
VAULT_POD_SECURITY = {
    **POD_SECURITY,
    "runAsUser": 100,
    "runAsGroup": 1000,
    "fsGroup": 1000,
}


def build_server_config(*, replicas: int) -> str:
    """HCL for raft storage, the TLS listener and the KMS seal (key id from the environment)."""
    joins = "".join(
        "  retry_join {\n"
        f'    leader_api_addr = "https://vault-{i}.{INTERNAL_SERVICE}:8200"\n'
        f'    leader_ca_cert_file = "{CA_FILE}"\n'
        "  }\n"
        for i in range(replicas)
    )
    return (
        "ui = true\n"
        'listener "tcp" {\n'
        '  address = "[::]:8200"\n'
        '  cluster_address = "[::]:8201"\n'
        f'  tls_cert_file = "{TLS_DIR}/tls.crt"\n'
        f'  tls_key_file = "{TLS_DIR}/tls.key"\n'
        '  tls_min_version = "tls12"\n'
        "}\n"
        'storage "raft" {\n'
        '  path = "/vault/data"\n'
        f"{joins}"
        "}\n"
        # region and kms_key_id come from AWS_REGION and VAULT_AWSKMS_SEAL_KEY_ID; the Pod
        # Identity role's credentials from the agent EKS mounts into the pod.
        'seal "awskms" {}\n'
        'service_registration "kubernetes" {}\n'
    )


def build_vault_values(
    *, replicas: int, volume_gb: int, region: str, kms_key_id: str
) -> dict[str, Any]:
    """Values for the vault chart 0.31.0 (Vault 1.20.4; keys from that version's values.yaml)."""
    return {
        "global": {"tlsDisable": False},
        # Vault Secrets Operator delivers Secrets; nothing needs the mutating webhook.
        "injector": {"enabled": False},
        "server": {
            "standalone": {"enabled": False},
            "ha": {
                "enabled": True,
                "replicas": replicas,
                "raft": {
                    "enabled": True,
                    "setNodeId": True,
                    "config": build_server_config(replicas=replicas),
                },
            },
            "dataStorage": {
                "enabled": True,
                "size": f"{volume_gb}Gi",
                "storageClass": "gp3",
            },
            # The Pod Identity association binds this exact account to the KMS role.
            "serviceAccount": {"create": True, "name": VAULT.service_account},
            "extraEnvironmentVars": {
                "AWS_REGION": region,
                "VAULT_AWSKMS_SEAL_KEY_ID": kms_key_id,
                "VAULT_CACERT": CA_FILE,
            },
            "volumes": [{"name": "tls", "secret": {"secretName": TLS_SECRET}}],
            "volumeMounts": [{"name": "tls", "mountPath": TLS_DIR, "readOnly": True}],
            # Ready while sealed or uninitialised: else the first install, which precedes
            # `vault operator init`, never becomes ready and atomic rolls it back.
            "readinessProbe": {
                "path": "/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204"
            },
            "statefulSet": {
                "securityContext": {"pod": VAULT_POD_SECURITY, "container": CONTAINER_SECURITY}
            },
            "resources": {
                "requests": {"cpu": "250m", "memory": "256Mi"},
                "limits": {"memory": "1Gi"},
            },
        },
        "ui": {"enabled": True},
    }


def build_secrets_operator_values(*, replicas: int) -> dict[str, Any]:
    """Values for vault-secrets-operator 0.10.0 (keys from that version's values.yaml)."""
    return {
        "controller": {
            "replicas": replicas,
            "podSecurityContext": POD_SECURITY,
            "securityContext": CONTAINER_SECURITY,
        },
        # The VaultConnection every VaultAuth without its own uses; it lives in this
        # namespace, beside the CA it trusts.
        "defaultVaultConnection": {
            "enabled": True,
            "address": ACTIVE_ADDRESS,
            "caCertSecret": TLS_SECRET,
            "skipTLSVerify": False,
        },
    }
