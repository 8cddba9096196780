"""Namespaces carry Pod Security labels; app namespaces deny by default and allow explicitly."""

from __future__ import annotations

import pytest

from infra.platform.namespaces import (
    APP_NAMESPACES,
    NAMESPACES,
    build_dependents_ingress,
    build_namespace,
    build_network_policies,
)


@pytest.mark.parametrize("name", sorted(NAMESPACES))
def test_every_exception_to_restricted_says_why(name):
    meta = build_namespace(name)["metadata"]
    level = meta["labels"]["pod-security.kubernetes.io/enforce"]
    assert meta["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
    if level != "restricted":
        assert meta["annotations"]["mlsys.io/pod-security-exception"]
    if name in APP_NAMESPACES:
        assert level == "restricted"


@pytest.mark.parametrize("namespace", APP_NAMESPACES)
def test_app_namespaces_deny_everything_then_allow_dns_gateway_and_scrapes(namespace):
    policies = {p["metadata"]["name"]: p["spec"] for p in build_network_policies(namespace)}
    deny = policies["default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = policies["allow-dns"]["egress"][0]
    assert {p["port"] for p in dns["ports"]} == {53}
    gateway = policies["allow-from-gateway"]["ingress"][0]["from"][0]
    assert gateway["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "gateway"}
    scrape = policies["allow-prometheus-scrape"]["ingress"][0]["from"][0]
    assert scrape["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}


def test_mlflow_admits_its_callers_and_nobody_calls_serving():
    (mlflow,) = build_dependents_ingress("mlflow")
    sources = [
        s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for s in mlflow["spec"]["ingress"][0]["from"]
    ]
    assert sorted(sources) == ["airflow", "serving"]
    assert build_dependents_ingress("serving") == []
