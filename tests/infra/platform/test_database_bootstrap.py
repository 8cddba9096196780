"""Database bootstrap: the namespace, admin Secret and Job that create the app databases."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from infra.foundation.database import DATABASES
from infra.platform.database_bootstrap import (
    ADMIN_SECRET,
    NAMESPACE,
    build_admin_secret,
    build_create_databases_job,
    build_namespace,
    create_databases_script,
    psql_image,
)
from tests.postgres import PG, require_postgres

JOB = build_create_databases_job("postgres:17-alpine", 5432, DATABASES)
CONTAINER = JOB["spec"]["template"]["spec"]["containers"][0]


def test_namespace_enforces_restricted_pod_security():
    labels = build_namespace()["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_job_and_secret_live_in_the_namespace_and_agree_on_the_secret():
    secret = build_admin_secret("db.example", "admin", "pw")
    assert secret["metadata"] == {"name": ADMIN_SECRET, "namespace": NAMESPACE}
    assert JOB["metadata"]["namespace"] == NAMESPACE
    refs = [e["valueFrom"]["secretKeyRef"] for e in CONTAINER["env"] if "valueFrom" in e]
    assert {ref["name"] for ref in refs} == {ADMIN_SECRET}
    assert {ref["key"] for ref in refs} == set(secret["stringData"])


def test_job_is_restricted_and_uses_tls():
    pod = JOB["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert CONTAINER["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    env = {e["name"]: e.get("value") for e in CONTAINER["env"]}
    assert env["PGSSLMODE"] == "require" and env["PGPORT"] == "5432"
    assert psql_image("16") == "postgres:16-alpine"


def test_the_plan_creates_the_bootstrap_with_the_clusters_provider(plans):
    plan = plans["prod"]
    job = plan.one("kubernetes:batch/v1:Job")
    assert job.inputs["spec"]["template"]["spec"]["containers"][0]["image"] == psql_image("17")
    script = next(
        e["value"]
        for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
        if e["name"] == "CREATE_DATABASES"
    )
    assert script == create_databases_script(DATABASES)
    waits_for = plan.dependency_names(job.name)
    assert {
        "mlsys-prod-db-bootstrap-ns",
        "mlsys-prod-db-bootstrap-admin",
        "mlsys-prod-db-postgres",
    } <= waits_for
    assert "mlsys-prod-db-bootstrap-ns" in plan.dependency_names("mlsys-prod-db-bootstrap-admin")


def test_moved_objects_keep_their_deployed_urns(plans):
    """They were children of the Database component; aliases stop a delete and re-create."""
    plan = plans["dev"]
    old = "urn:pulumi:dev::mlsys::mlsys:database:Database$"
    expected = {
        "mlsys-dev-db-bootstrap-ns": f"{old}kubernetes:core/v1:Namespace::mlsys-dev-db-ns",
        "mlsys-dev-db-bootstrap-admin": f"{old}kubernetes:core/v1:Secret::mlsys-dev-db-admin",
        "mlsys-dev-db-bootstrap-create-databases": (
            f"{old}kubernetes:batch/v1:Job::mlsys-dev-db-create-databases"
        ),
    }
    for name, urn in expected.items():
        assert plan.named(name).aliases == [urn]


@pytest.mark.postgres
def test_create_databases_script_runs_twice_on_real_postgres():
    """The Job's own command and script, against a real server; the second run is a no-op."""
    require_postgres()
    names = (f"mlsys_t_{uuid.uuid4().hex[:8]}", f"mlsys_t_{uuid.uuid4().hex[:8]}")
    job = build_create_databases_job("img", int(str(PG["port"])), names)
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    # The local test server may run without TLS, which RDS (rds.force_ssl) never does.
    env.update(PGHOST=PG["host"], PGUSER=PG["user"], PGSSLMODE="prefer", PATH="/usr/bin:/bin")
    try:
        for _ in range(2):
            subprocess.run(
                container["command"], env=env, check=True, capture_output=True, timeout=30
            )
        listed = subprocess.run(
            ["psql", "-At", "-d", "postgres", "-c", "SELECT datname FROM pg_database"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.split()
        assert set(names) <= set(listed)
    finally:
        for name in names:
            subprocess.run(
                ["psql", "-c", f'DROP DATABASE IF EXISTS "{name}"', "-d", "postgres"],
                env=env,
                capture_output=True,
                timeout=30,
            )
