"""Pure builders for TLS: cert-manager values, Let's Encrypt ClusterIssuers, Certificates."""

from __future__ import annotations

from typing import Any

from infra.platform.gateway_objects import (
    GATEWAY_NAME,
    GATEWAY_NAMESPACE,
    HTTP_LISTENER,
    tls_secret,
)

ACME_SERVERS = {
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "letsencrypt-prod": "https://acme-v02.api.letsencrypt.org/directory",
}


def build_cert_manager_values(*, replicas: int) -> dict[str, Any]:
    """Values for cert-manager v1.19.1 (keys from that version's values.yaml)."""
    return {
        # The chart installs its CRDs, and keeps them on uninstall so certificates survive.
        "crds": {"enabled": True, "keep": True},
        "replicaCount": replicas,
        "podDisruptionBudget": {"enabled": replicas > 1},
        "webhook": {"replicaCount": replicas},
        "cainjector": {"replicaCount": replicas},
        # HTTP-01 through the Gateway: cert-manager creates HTTPRoutes for its solvers.
        "config": {
            "apiVersion": "controller.config.cert-manager.io/v1alpha1",
            "kind": "ControllerConfiguration",
            "enableGatewayAPI": True,
        },
    }


def _http01_solver() -> dict[str, Any]:
    return {
        "http01": {
            "gatewayHTTPRoute": {
                "parentRefs": [
                    {
                        "kind": "Gateway",
                        "name": GATEWAY_NAME,
                        "namespace": GATEWAY_NAMESPACE,
                        "sectionName": HTTP_LISTENER,
                    }
                ]
            }
        }
    }


def _dns01_solver(region: str, zone_id: str) -> dict[str, Any]:
    # No credentials here: cert-manager uses its Pod Identity role (ambient credentials,
    # which ClusterIssuers may use by default).
    return {"dns01": {"route53": {"region": region, "hostedZoneID": zone_id}}}


def build_cluster_issuer(
    name: str, email: str, dns01: tuple[str, str] | None = None
) -> dict[str, Any]:
    """An ACME issuer solving HTTP-01 through the gateway, or DNS-01 given (region, zone)."""
    solver = _dns01_solver(*dns01) if dns01 else _http01_solver()
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": name},
        "spec": {
            "acme": {
                "server": ACME_SERVERS[name],
                "email": email,
                "privateKeySecretRef": {"name": f"{name}-account"},
                "solvers": [solver],
            }
        },
    }


def build_certificate(purpose: str, host: str, issuer: str) -> dict[str, Any]:
    """In the gateway's namespace, where its listener reads the Secret."""
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": purpose, "namespace": GATEWAY_NAMESPACE},
        "spec": {
            "secretName": tls_secret(purpose),
            "dnsNames": [host],
            "issuerRef": {"kind": "ClusterIssuer", "name": issuer},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        },
    }
