"""Database bootstrap: a restricted Job that reads the admin secret through Pod Identity."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from infra.foundation.database import DATABASES
from infra.platform.database_bootstrap import (
    ADMIN_SECRET_FILE,
    CA_BUNDLE_FILE,
    DATABASE_CLIENT_LABEL,
    NAMESPACE,
    READ_PASSWORD,
    SERVICE_ACCOUNT,
    bootstrap_sql,
    build_create_databases_job,
    build_namespace,
    build_network_policy,
    build_security_group_policy,
)
from tests.postgres import PG, require_postgres

DIGEST = "@sha256:" + "a" * 64
JOB = build_create_databases_job(
    db_client_image="registry.example/postgres" + DIGEST,
    aws_cli_image="registry.example/aws-cli" + DIGEST,
    host="db.example",
    port=5432,
    region="eu-west-1",
    admin_user="mlsys_admin",
    admin_secret_arn="arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-x",
    databases=DATABASES,
)
POD = JOB["spec"]["template"]["spec"]
(FETCH,) = POD["initContainers"]
(PSQL,) = POD["containers"]


def test_namespace_enforces_restricted_pod_security():
    labels = build_namespace()["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_no_secret_in_the_spec_images_by_digest_and_high_uid():
    assert all("valueFrom" not in e for c in (FETCH, PSQL) for e in c["env"])
    assert "PASSWORD" not in json.dumps(JOB["spec"]["template"]["spec"]["containers"][0]["env"])
    assert all("@sha256:" in c["image"] for c in (FETCH, PSQL))
    assert POD["securityContext"]["runAsUser"] >= 10000 and POD["securityContext"]["runAsNonRoot"]
    assert POD["serviceAccountName"] == SERVICE_ACCOUNT
    assert JOB["metadata"]["namespace"] == NAMESPACE
    for container in (FETCH, PSQL):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["resources"]["limits"]["cpu"]


def test_psql_verifies_the_server_against_the_rds_ca_it_fetched():
    env = {e["name"]: e["value"] for e in PSQL["env"]}
    assert env["PGSSLMODE"] == "verify-full" and env["PGSSLROOTCERT"] == CA_BUNDLE_FILE
    fetch = FETCH["command"][-1]
    assert ADMIN_SECRET_FILE in fetch and CA_BUNDLE_FILE in fetch
    assert "https://truststore.pki.rds.amazonaws.com/eu-west-1/" in fetch
    (secrets,) = [v for v in POD["volumes"] if v["name"] == "secrets"]
    assert secrets["emptyDir"]["medium"] == "Memory"


@pytest.mark.parametrize(
    "password", ["plain", 'with"quote', "back\\slash", "co:lon$dollar", "sp ace!#%"]
)
def test_the_password_is_read_from_the_secret_file(tmp_path, password):
    """The Job's own shell snippet, on JSON as Secrets Manager returns it."""
    secret = tmp_path / "admin.json"
    secret.write_text(json.dumps({"username": "mlsys_admin", "password": password}))
    script = READ_PASSWORD.replace(ADMIN_SECRET_FILE, str(secret)) + '; printf "%s" "$PGPASSWORD"'
    result = subprocess.run(["sh", "-ec", script], capture_output=True, text=True, check=True)
    assert result.stdout == password


def test_only_labelled_pods_get_the_database_group_and_egress_is_narrow():
    policy = build_security_group_policy(NAMESPACE, ["sg-clients", "sg-cluster"])
    assert policy["spec"]["podSelector"]["matchLabels"] == DATABASE_CLIENT_LABEL
    assert policy["spec"]["securityGroups"]["groupIds"] == ["sg-clients", "sg-cluster"]
    assert JOB["spec"]["template"]["metadata"]["labels"].items() >= DATABASE_CLIENT_LABEL.items()
    network = build_network_policy()["spec"]
    assert network["ingress"] == []
    assert {p["port"] for p in network["egress"][0]["ports"]} == {53, 443, 5432}


def test_the_plan_creates_the_bootstrap_with_the_clusters_provider(plans):
    plan = plans["prod"]
    job = plan.named("mlsys-prod-db-bootstrap-create-databases")
    pod = job.inputs["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"].startswith("public.ecr.aws/docker/library/postgres:17")
    secret_arn = next(
        e["value"] for e in pod["initContainers"][0]["env"] if e["name"] == "ADMIN_SECRET_ARN"
    )
    assert secret_arn == plan.outputs["databaseSecretArn"]
    waits_for = plan.dependency_names(job.name)
    assert {
        "mlsys-prod-db-bootstrap-ns",
        "mlsys-prod-db-bootstrap-sa",
        "mlsys-prod-db-bootstrap-database-clients",
        "mlsys-prod-db-postgres",
    } <= waits_for
    assert plan.of_type("kubernetes:core/v1:Secret") == []
    # MLflow, Airflow and the exporter add the same policy to their namespaces: each admits
    # the clients' group.
    policies = plan.of_type("kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy")
    namespaces = {p.inputs["metadata"]["namespace"] for p in policies}
    assert namespaces == {NAMESPACE, "mlflow", "airflow", "monitoring"}
    clients = plan.named("mlsys-prod-db-clients-sg")
    for policy in policies:
        assert policy.inputs["spec"]["securityGroups"]["groupIds"][0] == clients.id


def test_moved_objects_keep_their_deployed_urns(plans):
    """They were children of the Database component; aliases stop a delete and re-create."""
    plan = plans["dev"]
    old = "urn:pulumi:dev::mlsys::mlsys:database:Database$"
    expected = {
        "mlsys-dev-db-bootstrap-ns": f"{old}kubernetes:core/v1:Namespace::mlsys-dev-db-ns",
        "mlsys-dev-db-bootstrap-create-databases": (
            f"{old}kubernetes:batch/v1:Job::mlsys-dev-db-create-databases"
        ),
    }
    for name, urn in expected.items():
        assert plan.named(name).aliases == [urn]


@pytest.mark.postgres
def test_bootstrap_sql_runs_twice_on_real_postgres():
    """Users own their database, nobody else may connect; the second run is a no-op."""
    require_postgres()
    names = (f"mlsys_t_{uuid.uuid4().hex[:8]}", f"mlsys_t_{uuid.uuid4().hex[:8]}")
    monitor = f"mlsys_m_{uuid.uuid4().hex[:8]}"
    env = {
        "PGHOST": PG["host"],
        "PGPORT": str(PG["port"]),
        "PGUSER": PG["user"],
        "PATH": "/usr/bin:/bin",
    }

    def psql(sql: str, db: str = "postgres") -> str:
        return subprocess.run(
            ["psql", "-v", "ON_ERROR_STOP=1", "-At", "-d", db],
            input=sql,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout

    # RDS provides rds_iam; a plain server does not.
    psql(
        "SELECT 'CREATE ROLE rds_iam' WHERE NOT EXISTS "
        "(SELECT FROM pg_roles WHERE rolname='rds_iam')\\gexec\n"
    )
    try:
        for _ in range(2):
            psql(bootstrap_sql(names, monitor))
        owners = psql(
            "SELECT datname || '=' || pg_get_userbyid(datdba) FROM pg_database "  # noqa: S608
            f"WHERE datname IN ('{names[0]}', '{names[1]}')"
        ).split()
        assert sorted(owners) == sorted(f"{n}={n}" for n in names)
        can = psql(f"SELECT has_database_privilege('{names[0]}', '{names[1]}', 'CONNECT')")
        assert can.strip() == "f"
        # The exporter's role reads statistics and may not connect to an app's database.
        monitoring = psql(
            f"SELECT pg_has_role('{monitor}', 'pg_monitor', 'MEMBER'), "
            f"has_database_privilege('{monitor}', '{names[0]}', 'CONNECT')"
        )
        assert monitoring.strip() == "t|f"
    finally:
        for name in names:
            psql(f'DROP DATABASE IF EXISTS "{name}";\nDROP ROLE IF EXISTS "{name}";\n')
        psql(f'DROP ROLE IF EXISTS "{monitor}";\n')
