"""How a workload pod signs in to RDS with IAM: a sidecar keeps a fresh token in a pgpass file.

The apps have no database password (docs/infrastructure.md, "Database credentials"): an IAM
token is valid for 15 minutes and only when a connection opens. libpq reads ``PGPASSFILE``
on every new connection, so a sidecar that rewrites the file every ten minutes keeps every
SQLAlchemy pool working without a line of application code. The connection settings come
from the Secret Vault Secrets Operator delivers (``mlflow-database``, ``airflow-database``).
"""

from __future__ import annotations

from typing import Any

from infra.platform.database_bootstrap import DATABASE_CLIENT_LABEL
from infra.platform.rds_token import CA_FILE, PASS_FILE, TOKEN_DIR, token_script
from infra.workloads import hardening as hard

VOLUME = "db-token"
# Env var -> key of the delivered Secret (docs/runbooks/vault.md lists the keys).
SECRET_KEYS = {
    "DB_HOST": "host",
    "DB_PORT": "port",
    "DB_NAME": "dbname",
    "DB_USER": "username",
    "PGSSLMODE": "sslmode",
}
# Kubernetes expands $(VAR) from the env above, so no shell is needed to build the URI.
SQLALCHEMY_URI = "postgresql://$(DB_USER)@$(DB_HOST):$(DB_PORT)/$(DB_NAME)"
POD_LABELS = dict(DATABASE_CLIENT_LABEL)  # the SecurityGroupPolicy gives these pods RDS


def connection_env(secret: str) -> list[dict[str, Any]]:
    """libpq's settings for a client container: the token file, RDS's CA, verify-full."""
    return [
        *(
            {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
            for name, key in SECRET_KEYS.items()
        ),
        {"name": "PGPASSFILE", "value": PASS_FILE},
        {"name": "PGSSLROOTCERT", "value": CA_FILE},
    ]


def token_mount() -> dict[str, Any]:
    return {"name": VOLUME, "mountPath": TOKEN_DIR, "readOnly": True}


def token_volume() -> dict[str, Any]:
    return {"name": VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}


def token_sidecar(*, image: str, region: str, secret: str) -> dict[str, Any]:
    """A native sidecar (an init container that keeps running): the app starts only once
    the first token is written, and a Job still completes when its main container does."""
    sidecar = hard.container(
        name="db-token",
        image=image,
        resources=hard.SMALL,
        command=["sh", "-ec", token_script(region)],
        env=[
            *(e for e in connection_env(secret) if e["name"] in ("DB_HOST", "DB_PORT", "DB_USER")),
            {"name": "AWS_REGION", "value": region},
            {"name": "HOME", "value": hard.SCRATCH},
        ],
        mounts=[{"name": VOLUME, "mountPath": TOKEN_DIR}],
    )
    sidecar["restartPolicy"] = "Always"
    sidecar["startupProbe"] = {
        "exec": {"command": ["test", "-s", PASS_FILE]},
        "periodSeconds": 2,
        "failureThreshold": 30,
    }
    return sidecar
