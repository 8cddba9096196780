"""The platform layer in the offline plan: order, per-stack differences, no secrets."""

from __future__ import annotations

import json

import pytest

from infra.offline.plan import SECRET

STACKS = ("dev", "staging", "prod")


def test_crds_come_before_their_users(plans):
    plan = plans["prod"]
    deps = plan.dependency_names
    assert "mlsys-prod-edge-gateway-api-crds" in deps("mlsys-prod-edge-nginx-gateway-fabric")
    assert "mlsys-prod-edge-gateway-api-crds" in deps("mlsys-prod-edge-cert-manager")
    assert "mlsys-prod-edge-cert-manager" in deps("mlsys-prod-edge-letsencrypt-prod")
    assert "mlsys-prod-edge-nginx-gateway-fabric" in deps("mlsys-prod-edge-api-rate-limit")
    assert "mlsys-prod-monitoring-kube-prometheus-stack" in deps("mlsys-prod-monitoring-rules-slo")
    assert "mlsys-prod-namespaces-monitoring" in deps("mlsys-prod-monitoring-kube-prometheus-stack")
    assert "mlsys-prod-edge-cert-manager" in deps("mlsys-prod-vault-issuer-vault-selfsigned")
    assert "mlsys-prod-vault-server-certificate" in deps("mlsys-prod-vault-server")
    assert "mlsys-prod-vault-server" in deps("mlsys-prod-vault-secrets-operator")
    # Pods get Pod Identity credentials only if their association exists when they start.
    assert "mlsys-prod-identity-vault-association" in deps("mlsys-prod-vault-server")
    assert "mlsys-prod-identity-velero-association" in deps("mlsys-prod-operations-velero")
    assert "mlsys-prod-vault-server" in deps("mlsys-prod-vault-configure")
    assert "mlsys-prod-vault-secrets-operator" in deps("mlsys-prod-vault-auth-grafana")
    assert "mlsys-prod-vault-auth-grafana" in deps("mlsys-prod-vault-secret-grafana-admin")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_certificates_use_the_configured_issuer(plans, stack):
    certs = [
        c
        for c in plans[stack].of_type("kubernetes:cert-manager.io/v1:Certificate")
        if c.inputs["metadata"]["namespace"] == "gateway"  # Vault's are from its own CA
    ]
    issuers = {c.inputs["spec"]["issuerRef"]["name"] for c in certs}
    assert len(certs) == 5
    assert issuers == {"letsencrypt-staging" if stack == "dev" else "letsencrypt-prod"}


def test_stacks_differ_in_replicas_volumes_and_retention(plans):
    def spec(stack):
        release = plans[stack].named(f"mlsys-{stack}-monitoring-kube-prometheus-stack")
        return release.inputs["values"]["prometheus"]["prometheusSpec"]

    assert (spec("dev")["replicas"], spec("prod")["replicas"]) == (1, 2)
    assert "storageSpec" in spec("prod") and "storageSpec" not in spec("dev")
    assert (spec("dev")["retention"], spec("prod")["retention"]) == ("7d", "30d")


def test_issuers_solve_dns01_where_a_zone_is_configured_else_http01(plans):
    for stack in STACKS:
        issuer = plans[stack].named(f"mlsys-{stack}-edge-letsencrypt-prod")
        (solver,) = issuer.inputs["spec"]["acme"]["solvers"]
        if stack == "prod":
            assert solver["dns01"]["route53"]["hostedZoneID"] == "Z0EXAMPLE1234567890"
            assert "accessKeyIDSecretRef" not in solver["dns01"]["route53"]
        else:
            assert set(solver) == {"http01"}


def test_vault_runs_three_raft_voters_outside_dev(plans):
    def values(stack):
        return plans[stack].named(f"mlsys-{stack}-vault-server").inputs["values"]

    replicas = {s: values(s)["server"]["ha"]["replicas"] for s in ("dev", "staging", "prod")}
    assert replicas == {"dev": 1, "staging": 3, "prod": 3}
    env = values("prod")["server"]["extraEnvironmentVars"]
    assert env["VAULT_AWSKMS_SEAL_KEY_ID"].startswith("arn:aws:kms:")
    assert plans["prod"].outputs["vaultAddress"] == "https://vault-active.vault.svc:8200"


def test_backups_keep_the_configured_days_and_metrics_server_scales_outside_dev(plans):
    def values(stack, release):
        return plans[stack].named(f"mlsys-{stack}-operations-{release}").inputs["values"]

    ttls = {s: values(s, "velero")["schedules"]["daily"]["template"]["ttl"] for s in STACKS}
    assert ttls == {"dev": "168h0m0s", "staging": "336h0m0s", "prod": "720h0m0s"}
    bucket = values("prod", "velero")["configuration"]["backupStorageLocation"][0]["bucket"]
    assert "backups" in bucket
    assert [values(s, "metrics-server")["replicas"] for s in STACKS] == [1, 2, 2]
    assert "mlsys-prod-namespaces-velero" in plans["prod"].dependency_names(
        "mlsys-prod-operations-velero"
    )


def test_logs_run_three_elasticsearch_nodes_in_prod_and_kibana_behind_the_gateway(plans):
    def node_set(stack):
        es = plans[stack].named(f"mlsys-{stack}-logging-elasticsearch")
        return es.inputs["spec"]["nodeSets"][0]

    assert [node_set(s)["count"] for s in STACKS] == [1, 1, 3]
    deps = plans["prod"].dependency_names
    assert "mlsys-prod-logging-eck-operator" in deps("mlsys-prod-logging-elasticsearch")
    assert "mlsys-prod-edge-gateway" in deps("mlsys-prod-logging-kibana-route")
    assert "mlsys-prod-logging-elasticsearch" in deps("mlsys-prod-logging-fluent-bit")
    route = plans["prod"].named("mlsys-prod-logging-kibana-route").inputs["spec"]
    assert route["hostnames"] == [plans["prod"].outputs["publicHosts"]["kibana"]]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_no_platform_resource_holds_a_secret_value(plans, stack):
    for resource in plans[stack].resources:
        if resource.type.startswith(("kubernetes:helm.sh", "kubernetes:core/v1:ConfigMap")):
            assert SECRET not in json.dumps(resource.inputs), resource.name
    assert not plans[stack].of_type("kubernetes:core/v1:Secret")
