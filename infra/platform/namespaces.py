"""Platform and app namespaces with Pod Security labels, and default-deny NetworkPolicies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

PodSecurity = Literal["restricted", "baseline", "privileged"]


@dataclass(frozen=True)
class NamespaceSpec:
    pod_security: PodSecurity
    why: str = ""  # required for anything weaker than restricted


NAMESPACES: dict[str, NamespaceSpec] = {
    "gateway": NamespaceSpec("restricted"),
    "cert-manager": NamespaceSpec("restricted"),
    "vault": NamespaceSpec("restricted"),
    "monitoring": NamespaceSpec(
        "privileged", "node-exporter reads the host's /proc and /sys with hostPID and hostNetwork"
    ),
    "logging": NamespaceSpec(
        "privileged", "Fluent Bit tails container logs from hostPath /var/log on every node"
    ),
    "mlflow": NamespaceSpec("restricted"),
    "airflow": NamespaceSpec("restricted"),
    "serving": NamespaceSpec("restricted"),
    "velero": NamespaceSpec("restricted"),
}
# Namespaces of our own workloads: default-deny plus explicit allows.
APP_NAMESPACES: tuple[str, ...] = ("mlflow", "airflow", "serving")
# Ports each app listens on, and where it may connect besides DNS.
APP_PORTS = {"mlflow": 5000, "airflow": 8080, "serving": 8000}
APP_EGRESS: dict[str, list[tuple[str, int]]] = {
    # (namespace or "external", port): HTTPS reaches S3, STS, KMS and Pod Identity.
    "mlflow": [("external", 443), ("external", 5432)],
    "airflow": [("external", 443), ("external", 5432), ("mlflow", 5000)],
    "serving": [("external", 443), ("mlflow", 5000)],
}


def _ns_selector(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def build_namespace(name: str) -> dict[str, Any]:
    spec = NAMESPACES[name]
    level = spec.pod_security
    labels = {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        # Warn and audit at restricted everywhere, so an exception never hides a new gap.
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }
    metadata: dict[str, Any] = {"name": name, "labels": labels}
    if spec.why:
        metadata["annotations"] = {"mlsys.io/pod-security-exception": spec.why}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def _policy(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def build_network_policies(namespace: str) -> list[dict[str, Any]]:
    """Deny everything, then allow DNS, the gateway, Prometheus and the app's dependencies."""
    everyone: dict[str, Any] = {}
    port = APP_PORTS[namespace]
    egress = []
    for target, target_port in APP_EGRESS[namespace]:
        rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": target_port}]}
        if target != "external":
            rule["to"] = [_ns_selector(target)]
        egress.append(rule)
    return [
        _policy(
            "default-deny",
            namespace,
            {"podSelector": everyone, "policyTypes": ["Ingress", "Egress"]},
        ),
        _policy(
            "allow-dns",
            namespace,
            {
                "podSelector": everyone,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [_ns_selector("kube-system")],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        ),
        _policy(
            "allow-from-gateway",
            namespace,
            {
                "podSelector": everyone,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [_ns_selector("gateway")],
                        "ports": [{"protocol": "TCP", "port": port}],
                    }
                ],
            },
        ),
        _policy(
            "allow-prometheus-scrape",
            namespace,
            {
                "podSelector": everyone,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                **_ns_selector("monitoring"),
                                "podSelector": {
                                    "matchLabels": {"app.kubernetes.io/name": "prometheus"}
                                },
                            }
                        ],
                        "ports": [{"protocol": "TCP", "port": port}],
                    }
                ],
            },
        ),
        _policy(
            "allow-dependencies",
            namespace,
            {"podSelector": everyone, "policyTypes": ["Egress"], "egress": egress},
        ),
    ]


def build_dependents_ingress(namespace: str) -> list[dict[str, Any]]:
    """Ingress to ``namespace`` from the apps that call it (egress alone is not enough)."""
    callers = [n for n, deps in APP_EGRESS.items() if (namespace, APP_PORTS[namespace]) in deps]
    if not callers:
        return []
    return [
        _policy(
            "allow-from-dependents",
            namespace,
            {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [_ns_selector(c) for c in callers],
                        "ports": [{"protocol": "TCP", "port": APP_PORTS[namespace]}],
                    }
                ],
            },
        )
    ]


@dataclass(frozen=True, kw_only=True)
class NamespacesArgs:
    k8s_provider: k8s.Provider


class Namespaces(pulumi.ComponentResource):
    """Every platform namespace, so charts and objects can depend on theirs existing."""

    namespaces: dict[str, k8s.core.v1.Namespace]

    def __init__(
        self, name: str, args: NamespacesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:platform:Namespaces", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        self.namespaces = {}
        for ns in NAMESPACES:
            self.namespaces[ns] = k8s.core.v1.Namespace(
                f"{name}-{ns}", metadata=build_namespace(ns)["metadata"], opts=child
            )
        for ns in APP_NAMESPACES:
            for policy in build_network_policies(ns) + build_dependents_ingress(ns):
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-{ns}-{policy['metadata']['name']}",
                    metadata=policy["metadata"],
                    spec=policy["spec"],
                    opts=pulumi.ResourceOptions.merge(
                        child, pulumi.ResourceOptions(depends_on=[self.namespaces[ns]])
                    ),
                )
        self.register_outputs({})
