"""Pure builders of the infra program, tested without Pulumi."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import uuid

import pytest

from infra.cluster import gp3_storage_class, vpc_cni_configuration
from infra.database import create_databases_script, init_job_spec, parameters
from infra.ecr import lifecycle_policy
from infra.iam_documents import github_oidc_trust, velero
from infra.kubeconfig import build_kubeconfig
from infra.storage import lifecycle_rules
from infra.subnets import plan_subnets
from tests.postgres import PG, require_postgres


@pytest.mark.parametrize("cidr", ["10.10.0.0/16", "10.0.0.0/20", "172.20.0.0/18"])
def test_subnets_fit_the_vpc_and_never_overlap(cidr):
    layout = plan_subnets(cidr)
    vpc = ipaddress.ip_network(cidr)
    blocks = [ipaddress.ip_network(c) for c in (*layout.public, *layout.private, *layout.database)]
    assert len(blocks) == 9 and all(b.subnet_of(vpc) for b in blocks)
    for i, a in enumerate(blocks):
        assert not any(a.overlaps(b) for b in blocks[i + 1 :])
    assert ipaddress.ip_network(layout.private[0]).num_addresses == vpc.num_addresses // 4


def test_kubeconfig_uses_aws_eks_get_token_and_no_static_secret():
    config = build_kubeconfig("c", "https://x", "Q0E=", "eu-west-1")
    user = config["users"][0]["user"]
    assert user["exec"]["command"] == "aws"
    assert user["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", "c"]
    assert "token" not in user and "client-key-data" not in user


def test_github_trust_is_pinned_to_repo_and_environment():
    trust = github_oidc_trust("arn:p", "org/repo", "prod")
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:org/repo:environment:prod",
    }


def test_velero_may_use_star_only_for_describe_calls():
    doc = velero("arn:aws:s3:::b", "arn:k", "eu-west-1", "111122223333")
    star = [s for s in doc["Statement"] if s["Resource"] == ["*"]]
    assert len(star) == 1 and all(a.startswith("ec2:Describe") for a in star[0]["Action"])


def test_small_builders():
    assert json.loads(vpc_cni_configuration()) == {"enableNetworkPolicy": "true"}
    assert gp3_storage_class()["parameters"]["type"] == "gp3"
    assert parameters("17")["family"] == "postgres17"
    assert [r["rulePriority"] for r in lifecycle_policy()["rules"]] == [1, 2]
    assert any(r["id"] == "backups-to-glacier-ir" for r in lifecycle_rules("backups", 30))
    assert not any(r["id"] == "backups-to-glacier-ir" for r in lifecycle_rules("datasets", 30))
    container = init_job_spec("s", "postgres:17-alpine")["template"]["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.postgres
def test_create_databases_script_runs_twice_on_real_postgres():
    """The Job's SQL, through the same `sh -c ... | psql`, against a real server."""
    require_postgres()
    names = (f"mlsys_t_{uuid.uuid4().hex[:8]}", f"mlsys_t_{uuid.uuid4().hex[:8]}")
    script = create_databases_script(names)
    env = {
        "PGHOST": PG["host"],
        "PGPORT": str(PG["port"]),
        "PGUSER": PG["user"],
        "CREATE_DATABASES": script,
        "PATH": "/usr/bin:/bin",
    }
    command = init_job_spec("s", "img")["template"]["spec"]["containers"][0]["command"]
    try:
        for _ in range(2):  # idempotent: the second run creates nothing and does not fail
            subprocess.run(command, env=env, check=True, capture_output=True, timeout=30)
        listed = subprocess.run(
            ["psql", "-At", "-c", "SELECT datname FROM pg_database"],
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
