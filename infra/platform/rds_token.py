"""The pgpass file of an RDS IAM sign-in, kept fresh by a sidecar; shared by every client pod.

An IAM token is valid for 15 minutes and only when a connection opens. libpq reads
``PGPASSFILE`` on every new connection, so a sidecar that rewrites the file every ten minutes
keeps a client signed in with no password anywhere (docs/infrastructure.md, "Database
credentials"). The workloads (workloads/database_client.py) and postgres-exporter
(platform/monitoring/postgres_exporter.py) run the same script.
"""

from __future__ import annotations

TOKEN_DIR = "/var/run/mlsys/db"  # noqa: S105 - a folder
PASS_FILE = f"{TOKEN_DIR}/pgpass"
CA_FILE = f"{TOKEN_DIR}/rds-ca.pem"
REFRESH_SECONDS = 600  # tokens live 15 minutes


def token_script(region: str) -> str:
    """RDS's CA once, then a new token every REFRESH_SECONDS. pgpass separates fields with
    ':' and a token contains some, so they are escaped; umask 077 gives libpq the 0600 it
    insists on."""
    bundle = f"https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem"
    return (
        "umask 077; "
        f"curl -fsS --proto =https -o {CA_FILE}.tmp {bundle}; mv {CA_FILE}.tmp {CA_FILE}; "
        "while true; do "
        'token="$(aws rds generate-db-auth-token --hostname "$DB_HOST" --port "$DB_PORT" '
        '--username "$DB_USER" --region "$AWS_REGION")"; '
        "escaped=\"$(printf '%s' \"$token\" | sed 's/\\\\/\\\\\\\\/g; s/:/\\\\:/g')\"; "
        'printf \'%s:%s:*:%s:%s\\n\' "$DB_HOST" "$DB_PORT" "$DB_USER" "$escaped" '
        f"> {PASS_FILE}.tmp; mv {PASS_FILE}.tmp {PASS_FILE}; "
        f"sleep {REFRESH_SECONDS}; done"
    )
