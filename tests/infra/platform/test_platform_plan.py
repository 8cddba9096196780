"""The platform layer in the offline plan: order, per-stack differences, no secrets."""

from __future__ import annotations

import json

import pytest

from infra.offline.plan import SECRET


def test_crds_come_before_their_users(plans):
    plan = plans["prod"]
    deps = plan.dependency_names
    assert "mlsys-prod-edge-gateway-api-crds" in deps("mlsys-prod-edge-nginx-gateway-fabric")
    assert "mlsys-prod-edge-gateway-api-crds" in deps("mlsys-prod-edge-cert-manager")
    assert "mlsys-prod-edge-cert-manager" in deps("mlsys-prod-edge-letsencrypt-prod")
    assert "mlsys-prod-edge-nginx-gateway-fabric" in deps("mlsys-prod-edge-api-rate-limit")
    assert "mlsys-prod-monitoring-kube-prometheus-stack" in deps("mlsys-prod-monitoring-rules-slo")
    assert "mlsys-prod-namespaces-monitoring" in deps("mlsys-prod-monitoring-kube-prometheus-stack")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_certificates_use_the_configured_issuer(plans, stack):
    certs = plans[stack].of_type("kubernetes:cert-manager.io/v1:Certificate")
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


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_no_platform_resource_holds_a_secret_value(plans, stack):
    for resource in plans[stack].resources:
        if resource.type.startswith(("kubernetes:helm.sh", "kubernetes:core/v1:ConfigMap")):
            assert SECRET not in json.dumps(resource.inputs), resource.name
    assert not plans[stack].of_type("kubernetes:core/v1:Secret")
