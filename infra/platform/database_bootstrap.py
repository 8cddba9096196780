"""Database bootstrap: a restricted Job creates one database and one IAM-auth user per app."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.foundation.database import MONITORING_USER
from infra.foundation.service_accounts import DB_BOOTSTRAP
from infra.platform.kube import POD_IDENTITY_EGRESS
from infra.renames import former_child_urn

NAMESPACE = DB_BOOTSTRAP.namespace
SERVICE_ACCOUNT = DB_BOOTSTRAP.service_account
JOB = "create-databases"
# Pods with this label get the security group the database admits (SecurityGroupPolicy).
DATABASE_CLIENT_LABEL = {"mlsys.io/database-client": "true"}
SECRETS_DIR = "/secrets"
ADMIN_SECRET_FILE = f"{SECRETS_DIR}/admin.json"
CA_BUNDLE_FILE = f"{SECRETS_DIR}/rds-ca.pem"
RUN_AS = 10001  # above any user an image defines (checkov CKV_K8S_40)
# Before the layer folders these objects were children of the foundation Database component.
FORMER_PARENT_TYPE = "mlsys:database:Database"


@dataclass(frozen=True, kw_only=True)
class DatabaseBootstrapArgs:
    host: pulumi.Input[str]
    port: int
    region: str
    admin_user: str
    admin_secret_arn: pulumi.Input[str]  # read by the Job through its Pod Identity role
    databases: tuple[str, ...]
    db_client_image: str  # psql, pinned by digest
    aws_cli_image: str  # pinned by digest
    security_group_ids: Sequence[pulumi.Input[str]]  # the database clients' group first
    server: pulumi.Resource  # the Job waits until the database server exists
    k8s_provider: k8s.Provider
    former_parent: str | None = None  # the Database component's name, for URN aliases
    monitoring_user: str | None = MONITORING_USER  # postgres-exporter's role; None: none


def monitoring_sql(user: str) -> list[str]:
    """A login role that authenticates with IAM and may read statistics (pg_monitor) only:
    no database of its own, no grant on the apps' databases, so it sees no table data."""
    return [
        f"SELECT 'CREATE ROLE {user} LOGIN' WHERE NOT EXISTS "  # noqa: S608
        f"(SELECT FROM pg_roles WHERE rolname = '{user}')\\gexec",
        f"GRANT rds_iam TO {user};",
        f"GRANT pg_monitor TO {user};",
    ]


def bootstrap_sql(databases: tuple[str, ...], monitoring_user: str | None = None) -> str:
    """Idempotent: per app a login role that authenticates with IAM, owning its database,
    which nobody else may connect to; and the exporter's monitoring role. Safe to re-run on
    every deploy."""
    statements: list[str] = monitoring_sql(monitoring_user) if monitoring_user else []
    for db in databases:
        # Names are our constants, never input: nothing here can be injected.
        statements += [
            f"SELECT 'CREATE ROLE {db} LOGIN' WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT FROM pg_roles WHERE rolname = '{db}')\\gexec",
            f"GRANT rds_iam TO {db};",
            # The admin must be able to act as the role to hand it the database.
            f"GRANT {db} TO CURRENT_USER;",
            f"SELECT 'CREATE DATABASE {db} OWNER {db}' WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT FROM pg_database WHERE datname = '{db}')\\gexec",
            f"ALTER DATABASE {db} OWNER TO {db};",
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC;",
        ]
    return "\n".join(statements) + "\n"


# The secret is JSON from Secrets Manager; busybox sed takes the password out and undoes
# JSON's backslash escapes. It lives in the shell's environment only, never in the pod spec.
READ_PASSWORD = (
    'PGPASSWORD="$(sed -n \'s/.*"password" *: *"\\(\\([^"\\\\]\\|\\\\.\\)*\\)".*/\\1/p\' '
    f"{ADMIN_SECRET_FILE} | sed 's/\\\\\\(.\\)/\\1/g')\"; export PGPASSWORD"
)


def psql_command() -> list[str]:
    return [
        "sh",
        "-ec",
        f'{READ_PASSWORD}; printf "%s" "$BOOTSTRAP_SQL" | psql -v ON_ERROR_STOP=1 -d postgres',
    ]


def fetch_command(region: str) -> list[str]:
    """The admin secret through Pod Identity, and RDS's CA bundle for verify-full."""
    bundle = f"https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem"
    return [
        "sh",
        "-ec",
        'umask 077; aws secretsmanager get-secret-value --secret-id "$ADMIN_SECRET_ARN" '
        f"--query SecretString --output text > {ADMIN_SECRET_FILE}; "
        f"curl -fsS --proto =https -o {CA_BUNDLE_FILE} {bundle}",
    ]


def build_namespace() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
            },
        },
    }


def build_service_account() -> dict[str, Any]:
    """Bound to the db-bootstrap Pod Identity role, which may read the admin secret only."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE},
        "automountServiceAccountToken": False,
    }


def build_security_group_policy(
    namespace: str, security_group_ids: Sequence[pulumi.Input[str]]
) -> dict[str, Any]:
    """Security groups for pods: labelled pods of ``namespace`` may reach the database."""
    return {
        "apiVersion": "vpcresources.k8s.aws/v1beta1",
        "kind": "SecurityGroupPolicy",
        "metadata": {"name": "database-clients", "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": dict(DATABASE_CLIENT_LABEL)},
            "securityGroups": {"groupIds": list(security_group_ids)},
        },
    }


def build_database_job_network_policy(name: str) -> dict[str, Any]:
    """For a Job of this namespace named ``name``: no traffic in; out only to DNS, AWS APIs
    (HTTPS), PostgreSQL and the Pod Identity agent its AWS CLI takes credentials from."""
    ports = [("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 5432)]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [
                {"ports": [{"protocol": p, "port": n} for p, n in ports]},
                copy.deepcopy(POD_IDENTITY_EGRESS),
            ],
        },
    }


def build_network_policy() -> dict[str, Any]:
    return build_database_job_network_policy(JOB)


# Restricted pod security for the database Jobs: a fixed non-root user, the runtime's seccomp.
JOB_POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS,
    "runAsGroup": RUN_AS,
    "fsGroup": RUN_AS,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def database_job_container(
    name: str,
    image: str,
    command: list[str],
    env: list[Any],
    *,
    mounts: list[dict[str, Any]] | None = None,
    resources: dict[str, dict[str, str]],
) -> dict[str, Any]:
    """A container of a database Job: the in-memory secrets volume and its own /tmp mounted,
    ``mounts`` besides, read-only root, no privilege escalation, no capabilities."""
    return {
        "name": name,
        "image": image,
        "command": command,
        "env": env,
        "volumeMounts": [
            *(mounts or []),
            {"name": "secrets", "mountPath": SECRETS_DIR},
            {"name": "home", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir of its own
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": resources,
    }


_BOOTSTRAP_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}


def build_create_databases_job(
    *,
    db_client_image: str,
    aws_cli_image: str,
    host: str,
    port: int,
    region: str,
    admin_user: str,
    admin_secret_arn: str,
    databases: tuple[str, ...],
    monitoring_user: str | None = MONITORING_USER,
) -> dict[str, Any]:
    """A restricted-PSS Job: fetch the secret to a memory volume, then psql with verify-full."""
    fetch = database_job_container(
        "fetch-admin-secret",
        aws_cli_image,
        fetch_command(region),
        [
            {"name": "ADMIN_SECRET_ARN", "value": admin_secret_arn},
            {"name": "AWS_REGION", "value": region},
            {"name": "HOME", "value": "/tmp"},  # noqa: S108 - the pod's own emptyDir
        ],
        resources=_BOOTSTRAP_RESOURCES,
    )
    psql = database_job_container(
        "psql",
        db_client_image,
        psql_command(),
        [
            {"name": "PGHOST", "value": host},
            {"name": "PGPORT", "value": str(port)},
            {"name": "PGUSER", "value": admin_user},
            {"name": "PGSSLMODE", "value": "verify-full"},
            {"name": "PGSSLROOTCERT", "value": CA_BUNDLE_FILE},
            {"name": "BOOTSTRAP_SQL", "value": bootstrap_sql(databases, monitoring_user)},
        ],
        resources=_BOOTSTRAP_RESOURCES,
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": JOB, "namespace": NAMESPACE},
        "spec": {
            "backoffLimit": 6,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": JOB, **DATABASE_CLIENT_LABEL}},
                "spec": {
                    "serviceAccountName": SERVICE_ACCOUNT,
                    "restartPolicy": "OnFailure",
                    # Pod Identity mounts its own token; the Kubernetes API is not needed.
                    "automountServiceAccountToken": False,
                    "securityContext": dict(JOB_POD_SECURITY),
                    "initContainers": [fetch],
                    "containers": [psql],
                    "volumes": [
                        {"name": "secrets", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                        {"name": "home", "emptyDir": {"sizeLimit": "64Mi"}},
                    ],
                },
            },
        },
    }


class DatabaseBootstrap(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: DatabaseBootstrapArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mlsys:platform:DatabaseBootstrap", name, None, opts)
        self._args = args
        namespace_spec = build_namespace()
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=namespace_spec["metadata"],
            opts=self._opts("ns", "kubernetes:core/v1:Namespace"),
        )
        account_spec = build_service_account()
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=account_spec["metadata"],
            automount_service_account_token=False,
            opts=self._opts(None, "", depends_on=[namespace]),
        )
        policy_spec = build_security_group_policy(NAMESPACE, args.security_group_ids)
        policy = k8s.apiextensions.CustomResource(
            f"{name}-database-clients",
            api_version=policy_spec["apiVersion"],
            kind=policy_spec["kind"],
            metadata=policy_spec["metadata"],
            spec=policy_spec["spec"],
            opts=self._opts(None, "", depends_on=[namespace]),
        )
        network_spec = build_network_policy()
        network = k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=network_spec["metadata"],
            spec=network_spec["spec"],
            opts=self._opts(None, "", depends_on=[namespace]),
        )
        job_spec = pulumi.Output.all(args.host, args.admin_secret_arn).apply(
            lambda a: build_create_databases_job(
                db_client_image=args.db_client_image,
                aws_cli_image=args.aws_cli_image,
                host=a[0],
                port=args.port,
                region=args.region,
                admin_user=args.admin_user,
                admin_secret_arn=a[1],
                databases=args.databases,
                monitoring_user=args.monitoring_user,
            )["spec"]
        )
        k8s.batch.v1.Job(
            f"{name}-create-databases",
            metadata={"name": JOB, "namespace": NAMESPACE},
            spec=job_spec,
            opts=self._opts(
                "create-databases",
                "kubernetes:batch/v1:Job",
                depends_on=[namespace, account, policy, network, args.server],
            ),
        )
        self.register_outputs({})

    def _opts(
        self, suffix: str | None, type_: str, depends_on: list[pulumi.Resource] | None = None
    ) -> pulumi.ResourceOptions:
        aliases: list[pulumi.Input[str | pulumi.Alias]] = []
        former = self._args.former_parent
        if former and suffix:
            # Same object, new parent: without the alias `pulumi up` would delete and
            # recreate the namespace, and with it everything inside.
            aliases.append(
                former_child_urn(former, FORMER_PARENT_TYPE, f"{former}-{suffix}", type_)
            )
        return pulumi.ResourceOptions(
            parent=self, provider=self._args.k8s_provider, depends_on=depends_on, aliases=aliases
        )
