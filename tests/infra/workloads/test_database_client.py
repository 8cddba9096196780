"""The IAM token sidecar: its script, run against stand-in aws, curl and sleep."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.workloads import database_client as db

TOKEN = "db.example:5432/?Action=connect&DBUser=mlflow&X-Amz-Signature=a\\b:c"


def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_the_script_writes_an_escaped_pgpass_line_and_the_ca_bundle(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake(bin_dir, "aws", f"printf '%s' '{TOKEN}'")
    _fake(bin_dir, "curl", 'while [ "$1" != "-o" ]; do shift; done; echo CA > "$2"')
    _fake(bin_dir, "sleep", "exit 3")  # ends the loop after the first token
    root = tmp_path / "db"
    root.mkdir()
    script = db.token_script("eu-west-1").replace(db.TOKEN_DIR, str(root))
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "DB_HOST": "db.example",
        "DB_PORT": "5432",
        "DB_USER": "mlflow",
        "AWS_REGION": "eu-west-1",
    }
    result = subprocess.run(["sh", "-ec", script], env=env, capture_output=True, check=False)
    assert result.returncode == 3, result.stderr
    line = (root / "pgpass").read_text()
    assert (
        line == "db.example:5432:*:mlflow:" + TOKEN.replace("\\", "\\\\").replace(":", "\\:") + "\n"
    )
    assert (root / "pgpass").stat().st_mode & 0o077 == 0  # libpq refuses a readable file
    assert (root / "rds-ca.pem").read_text() == "CA\n"


def test_the_sidecar_starts_before_the_app_and_keeps_running():
    sidecar = db.token_sidecar(image="aws-cli@sha256:" + "0" * 64, region="eu-west-1", secret="s")
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["startupProbe"]["exec"]["command"] == ["test", "-s", db.PASS_FILE]
    names = {e["name"] for e in sidecar["env"]}
    assert {"DB_HOST", "DB_PORT", "DB_USER", "AWS_REGION"} <= names


def test_clients_verify_the_server_and_read_the_token_file():
    env = {e["name"]: e for e in db.connection_env("mlflow-database")}
    assert env["PGPASSFILE"]["value"] == db.PASS_FILE
    assert env["PGSSLROOTCERT"]["value"] == db.CA_FILE
    assert env["PGSSLMODE"]["valueFrom"]["secretKeyRef"] == {
        "name": "mlflow-database",
        "key": "sslmode",
    }
    assert "password" not in db.SQLALCHEMY_URI
