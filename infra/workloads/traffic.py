"""Pure builders for how traffic reaches a workload: Service, HTTPRoute, NetworkPolicy, scrape."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from infra.platform.gateway_objects import GATEWAY_NAME, GATEWAY_NAMESPACE
from infra.platform.kube import POD_IDENTITY_EGRESS

PROMETHEUS_NAMESPACE = "monitoring"
PROMETHEUS_POD = {"app.kubernetes.io/name": "prometheus"}


@dataclass(frozen=True)
class Backend:
    service: str
    port: int
    weight: int


def build_service(
    *,
    name: str,
    namespace: str,
    labels: dict[str, str],
    match: dict[str, str],
    ports: dict[str, int],
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "type": "ClusterIP",
            "selector": dict(match),
            "ports": [
                {"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}
                for port_name, port in ports.items()
            ],
        },
    }


def build_https_route(
    *, name: str, namespace: str, purpose: str, host: str, backends: list[Backend]
) -> dict[str, Any]:
    """An HTTPRoute on ``purpose``'s HTTPS listener; several backends share requests by weight."""
    refs = [{"name": b.service, "port": b.port, "weight": b.weight} for b in backends]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "parentRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": GATEWAY_NAME,
                    "namespace": GATEWAY_NAMESPACE,
                    "sectionName": f"https-{purpose}",
                }
            ],
            "hostnames": [host],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": refs,
                }
            ],
        },
    }


def _namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def build_network_policy(
    *,
    name: str,
    namespace: str,
    match: dict[str, str],
    gateway_port: int | None,
    metrics_port: int | None,
    callers: dict[str, int] | None = None,
    to_namespaces: dict[str, int] | None = None,
    external_ports: tuple[int, ...] = (443,),
    pod_identity: bool = True,
) -> dict[str, Any]:
    """Exactly the workload's traffic, on top of the namespace's default deny: in from the
    gateway, Prometheus and named namespaces; out to DNS, named namespaces and AWS (HTTPS)."""
    ingress: list[dict[str, Any]] = []
    if gateway_port is not None:
        ingress.append({"from": [_namespace(GATEWAY_NAMESPACE)], "ports": _tcp(gateway_port)})
    if metrics_port is not None:
        prometheus = {
            **_namespace(PROMETHEUS_NAMESPACE),
            "podSelector": {"matchLabels": PROMETHEUS_POD},
        }
        ingress.append({"from": [prometheus], "ports": _tcp(metrics_port)})
    for caller, port in sorted((callers or {}).items()):
        ingress.append({"from": [_namespace(caller)], "ports": _tcp(port)})
    egress: list[dict[str, Any]] = [
        {
            "to": [_namespace("kube-system")],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    ]
    for target, port in sorted((to_namespaces or {}).items()):
        egress.append({"to": [_namespace(target)], "ports": _tcp(port)})
    if external_ports:
        egress.append({"ports": _tcp(*external_ports)})
    if pod_identity:
        egress.append(copy.deepcopy(POD_IDENTITY_EGRESS))
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": dict(match)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def build_service_monitor(
    *,
    name: str,
    namespace: str,
    match: dict[str, str],
    port: str,
    job: str,
    pod_labels: tuple[str, ...] = (),
    path: str = "/metrics",
    basic_auth_secret: str | None = None,
) -> dict[str, Any]:
    """Scrapes every Service matching ``match`` as one ``job``; ``pod_labels`` are copied from
    the pod onto each series (the canary analysis tells backends apart by ``track``)."""
    relabelings: list[dict[str, Any]] = [
        {"action": "replace", "targetLabel": "job", "replacement": job},
    ]
    relabelings += [
        {
            "action": "replace",
            "sourceLabels": [f"__meta_kubernetes_pod_label_{label}"],
            "targetLabel": label,
        }
        for label in pod_labels
    ]
    endpoint: dict[str, Any] = {
        "port": port,
        "path": path,
        "interval": "30s",
        "scheme": "http",
        "relabelings": relabelings,
    }
    if basic_auth_secret:
        endpoint["basicAuth"] = {
            "username": {"name": basic_auth_secret, "key": "username"},
            "password": {"name": basic_auth_secret, "key": "password"},
        }
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": dict(match)},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [endpoint],
        },
    }
