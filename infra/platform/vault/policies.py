"""Vault's configuration as data: policies, Kubernetes auth roles, the script applying them."""

from __future__ import annotations

import json
from dataclasses import dataclass

NAMESPACE = "vault"
KV_MOUNT = "mlsys"  # KV version 2: policies address data/ and metadata/ under it
AUTH_MOUNT = "kubernetes"
TOKEN_AUDIENCE = "vault"  # noqa: S105 - the audience VSO's service account tokens are requested for
CONFIGURER = "configurer"


@dataclass(frozen=True)
class Role:
    """A Kubernetes auth role bound to one service account, reading one KV prefix."""

    namespace: str
    service_account: str
    kv_prefix: str  # secrets live under <KV_MOUNT>/<kv_prefix>/...
    why: str


# One role per workload. Each is bound only to the service account Vault Secrets Operator
# uses for that workload (created by the Vault component), never to the workload's own pods:
# workloads read Kubernetes Secrets and need no Vault token.
ROLES: dict[str, Role] = {
    "mlflow": Role(
        "mlflow", "vault-mlflow", "mlflow", "database connection for the tracking server"
    ),
    "training": Role(
        "airflow", "vault-training", "training", "credentials the training pipeline needs"
    ),
    "serving": Role("serving", "vault-serving", "serving", "the API-key hash file"),
    "airflow": Role("airflow", "vault-airflow", "airflow", "database connection for Airflow"),
    "grafana": Role("monitoring", "vault-grafana", "grafana", "the Grafana admin login"),
    "alertmanager": Role(
        "monitoring", "vault-alertmanager", "alertmanager", "receiver webhook URLs"
    ),
    "fluent-bit": Role(
        "logging", "vault-fluent-bit", "logging", "Fluent Bit's Elasticsearch writer login"
    ),
}
# The Job that applies this configuration logs in with this role on every deploy.
CONFIGURER_ROLE = Role(NAMESPACE, "vault-configurer", "", "applies auth, policies and roles")


def build_read_policy(prefix: str) -> str:
    """HCL: read (never write or list siblings of) the secrets under one KV prefix."""
    return (
        f'path "{KV_MOUNT}/data/{prefix}/*" {{\n  capabilities = ["read"]\n}}\n'
        f'path "{KV_MOUNT}/metadata/{prefix}/*" {{\n  capabilities = ["read", "list"]\n}}\n'
    )


def build_configurer_policy() -> str:
    """HCL: exactly what the configure script touches, and no secret data."""
    paths = {
        "sys/auth": ["read"],
        f"sys/auth/{AUTH_MOUNT}": ["create", "update", "sudo", "read"],
        "sys/mounts": ["read"],
        f"sys/mounts/{KV_MOUNT}": ["create", "update", "read"],
        "sys/policies/acl/*": ["create", "update", "read"],
        f"auth/{AUTH_MOUNT}/config": ["create", "update", "read"],
        f"auth/{AUTH_MOUNT}/role/*": ["create", "update", "read"],
    }
    return "".join(
        f'path "{path}" {{\n  capabilities = {json.dumps(caps)}\n}}\n'
        for path, caps in paths.items()
    )


def build_policies() -> dict[str, str]:
    """Policy name -> HCL, one per workload role plus the configurer's."""
    policies = {name: build_read_policy(role.kv_prefix) for name, role in ROLES.items()}
    policies[CONFIGURER] = build_configurer_policy()
    return policies


def build_role_parameters(name: str, role: Role) -> list[str]:
    """``vault write auth/kubernetes/role/<name>`` arguments: one account, short tokens."""
    return [
        f"bound_service_account_names={role.service_account}",
        f"bound_service_account_namespaces={role.namespace}",
        f"audience={TOKEN_AUDIENCE}",
        f"token_policies={name}",
        "token_ttl=20m",
        "token_max_ttl=1h",
    ]


def _heredoc(command: str, body: str, marker: str) -> str:
    # A quoted marker: the shell expands nothing inside the HCL.
    return f"{command} - <<'{marker}'\n{body}{marker}\n"


def build_configure_script() -> str:
    """Idempotent sh: every step either checks first or is a PUT of the full desired state.

    Runs in the configurer Job (logging in with its service account), or once by hand with
    the root token right after `vault operator init` (docs/runbooks/vault.md), which is
    what creates the configurer role the Job logs in with.
    """
    lines = [
        "set -eu",
        'if [ -z "${VAULT_TOKEN:-}" ]; then',
        f'  VAULT_TOKEN="$(vault write -field=token auth/{AUTH_MOUNT}/login '
        f'role={CONFIGURER} jwt=@"$SA_TOKEN_FILE")"',
        "  export VAULT_TOKEN",
        "fi",
        f"vault auth list -format=json | grep -q '\"{AUTH_MOUNT}/\"' "
        f"|| vault auth enable -path={AUTH_MOUNT} kubernetes",
        # Vault runs in the cluster: it reviews tokens with its own service account.
        f"vault write auth/{AUTH_MOUNT}/config "
        'kubernetes_host="https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}"',
        f"vault secrets list -format=json | grep -q '\"{KV_MOUNT}/\"' "
        f"|| vault secrets enable -path={KV_MOUNT} -version=2 kv",
    ]
    script = "\n".join(lines) + "\n"
    for name, hcl in sorted(build_policies().items()):
        script += _heredoc(f"vault policy write {name}", hcl, "POLICY")
    for name, role in sorted({**ROLES, CONFIGURER: CONFIGURER_ROLE}.items()):
        script += f"vault write auth/{AUTH_MOUNT}/role/{name} " + " ".join(
            build_role_parameters(name, role)
        )
        script += "\n"
    return script
