"""Database bootstrap: a restricted Job on the cluster creates the application databases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.renames import former_child_urn

NAMESPACE = "platform-db"
ADMIN_SECRET = "postgres-admin"  # noqa: S105 - the Secret object's name, not a value
JOB = "create-databases"
# Before the layer folders these objects were children of the foundation Database component.
FORMER_PARENT_TYPE = "mlsys:database:Database"


@dataclass(frozen=True, kw_only=True)
class DatabaseBootstrapArgs:
    host: pulumi.Input[str]
    port: int
    admin_user: str
    admin_password: pulumi.Input[str]
    engine_major: str
    databases: tuple[str, ...]
    server: pulumi.Resource  # the Job waits until the database server exists
    k8s_provider: k8s.Provider
    former_parent: str | None = None  # the Database component's name, for URN aliases


def create_databases_script(databases: tuple[str, ...]) -> str:
    """Idempotent: creates each database once; safe to re-run on every deploy."""
    statements = [
        f"SELECT 'CREATE DATABASE {db}' WHERE NOT EXISTS "  # noqa: S608 - names are our constants
        f"(SELECT FROM pg_database WHERE datname = '{db}')\\gexec"
        for db in databases
    ]
    return "\n".join(statements) + "\n"


def psql_image(engine_major: str) -> str:
    """The client matches the server's major version."""
    return f"postgres:{engine_major}-alpine"


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


def build_admin_secret(
    host: pulumi.Input[str], user: str, password: pulumi.Input[str]
) -> dict[str, Any]:
    """The admin credentials the Job reads; the values may be Outputs (the password is one)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": ADMIN_SECRET, "namespace": NAMESPACE},
        "type": "Opaque",
        "stringData": {"host": host, "username": user, "password": password},
    }


def build_create_databases_job(image: str, port: int, databases: tuple[str, ...]) -> dict[str, Any]:
    """A restricted-PSS Job that runs psql against RDS with the admin secret."""
    env_from_secret = [
        {"name": var, "valueFrom": {"secretKeyRef": {"name": ADMIN_SECRET, "key": key}}}
        for var, key in (("PGHOST", "host"), ("PGUSER", "username"), ("PGPASSWORD", "password"))
    ]
    container = {
        "name": "psql",
        "image": image,
        # psql -c takes no backslash commands, so \gexec reads the script on stdin.
        "command": [
            "sh",
            "-c",
            'printf "%s" "$CREATE_DATABASES" | psql -v ON_ERROR_STOP=1 -d postgres',
        ],
        "env": [
            *env_from_secret,
            {"name": "PGSSLMODE", "value": "require"},
            {"name": "PGPORT", "value": str(port)},
            {"name": "CREATE_DATABASES", "value": create_databases_script(databases)},
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"memory": "128Mi"},
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": JOB, "namespace": NAMESPACE},
        "spec": {
            "backoffLimit": 6,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 70,  # the postgres user of the alpine image
                        "runAsGroup": 70,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                }
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
        secret_spec = build_admin_secret(args.host, args.admin_user, args.admin_password)
        secret = k8s.core.v1.Secret(
            f"{name}-admin",
            metadata=secret_spec["metadata"],
            type=secret_spec["type"],
            string_data=secret_spec["stringData"],
            opts=self._opts("admin", "kubernetes:core/v1:Secret", depends_on=[namespace]),
        )
        job_spec = build_create_databases_job(
            psql_image(args.engine_major), args.port, args.databases
        )
        k8s.batch.v1.Job(
            f"{name}-create-databases",
            metadata=job_spec["metadata"],
            spec=job_spec["spec"],
            opts=self._opts(
                "create-databases",
                "kubernetes:batch/v1:Job",
                depends_on=[namespace, secret, args.server],
            ),
        )
        self.register_outputs({})

    def _opts(
        self, suffix: str, type_: str, depends_on: list[pulumi.Resource] | None = None
    ) -> pulumi.ResourceOptions:
        aliases: list[pulumi.Input[str | pulumi.Alias]] = []
        former = self._args.former_parent
        if former:
            # Same object, new parent: without the alias `pulumi up` would delete and
            # recreate the namespace, and with it everything inside.
            aliases.append(
                former_child_urn(former, FORMER_PARENT_TYPE, f"{former}-{suffix}", type_)
            )
        return pulumi.ResourceOptions(
            parent=self, provider=self._args.k8s_provider, depends_on=depends_on, aliases=aliases
        )
