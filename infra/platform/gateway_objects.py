"""Pure builders for the edge: NGINX Gateway Fabric values, the Gateway, routes, rate limit."""

from __future__ import annotations

from typing import Any

GATEWAY_NAMESPACE = "gateway"
GATEWAY_NAME = "public"
GATEWAY_CLASS = "nginx"
HTTP_LISTENER = "http"
# The workloads layer names its HTTPRoute this; the rate limit targets it by name.
API_ROUTE = "prediction-api"
# Purpose -> the namespace whose routes may bind to that host's HTTPS listener.
HOST_NAMESPACES = {
    "api": "serving",
    "mlflow": "mlflow",
    "grafana": "monitoring",
    "kibana": "logging",
    "airflow": "airflow",
}
# The EKS cloud controller provisions an NLB for a LoadBalancer Service with these.
NLB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
}


def tls_secret(purpose: str) -> str:
    return f"{purpose}-tls"


def build_gateway_fabric_values(*, replicas: int) -> dict[str, Any]:
    """Values for nginx-gateway-fabric 2.4.0 (keys from that version's values.yaml)."""
    return {
        "nginxGateway": {
            "gatewayClassName": GATEWAY_CLASS,
            "replicas": 2 if replicas > 1 else 1,
            "productTelemetry": {"enable": False},
            "metrics": {"enable": True},
            "resources": {
                "requests": {"cpu": "100m", "memory": "128Mi"},
                "limits": {"memory": "256Mi"},
            },
        },
        "nginx": {
            "replicas": replicas,
            "service": {
                "type": "LoadBalancer",
                # Local keeps the client address, which the per-client rate limit keys on.
                "externalTrafficPolicy": "Local",
            },
        },
    }


def build_gateway(hosts: dict[str, str]) -> dict[str, Any]:
    """One HTTPS listener per public host (own certificate, own namespace's routes) and
    one HTTP listener that only the redirect and cert-manager's HTTP-01 solver bind to."""
    listeners: list[dict[str, Any]] = [
        {
            "name": HTTP_LISTENER,
            "port": 80,
            "protocol": "HTTP",
            "allowedRoutes": {"namespaces": {"from": "Same"}},
        }
    ]
    for purpose, host in hosts.items():
        listeners.append(
            {
                "name": f"https-{purpose}",
                "hostname": host,
                "port": 443,
                "protocol": "HTTPS",
                "tls": {
                    "mode": "Terminate",
                    "certificateRefs": [{"kind": "Secret", "name": tls_secret(purpose)}],
                },
                "allowedRoutes": {
                    "kinds": [{"kind": "HTTPRoute"}],
                    "namespaces": {
                        "from": "Selector",
                        "selector": {
                            "matchLabels": {"kubernetes.io/metadata.name": HOST_NAMESPACES[purpose]}
                        },
                    },
                },
            }
        )
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE},
        "spec": {
            "gatewayClassName": GATEWAY_CLASS,
            # NGINX Gateway Fabric copies these onto the Service it provisions.
            "infrastructure": {"annotations": dict(NLB_ANNOTATIONS)},
            "listeners": listeners,
        },
    }


def build_https_redirect(hosts: dict[str, str]) -> dict[str, Any]:
    """Everything on port 80 answers 301 to https; the ACME solver's longer path wins."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "https-redirect", "namespace": GATEWAY_NAMESPACE},
        "spec": {
            "parentRefs": [{"name": GATEWAY_NAME, "sectionName": HTTP_LISTENER}],
            "hostnames": sorted(hosts.values()),
            "rules": [
                {
                    "filters": [
                        {
                            "type": "RequestRedirect",
                            "requestRedirect": {"scheme": "https", "statusCode": 301},
                        }
                    ]
                }
            ],
        },
    }


def build_route(
    *, name: str, namespace: str, purpose: str, host: str, service: str, port: int
) -> dict[str, Any]:
    """An HTTPRoute from ``host``'s HTTPS listener to one Service."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "parentRefs": [
                {
                    "name": GATEWAY_NAME,
                    "namespace": GATEWAY_NAMESPACE,
                    "sectionName": f"https-{purpose}",
                }
            ],
            "hostnames": [host],
            "rules": [{"backendRefs": [{"name": service, "port": port}]}],
        },
    }


def build_api_rate_limit(*, per_second: int, burst: int) -> dict[str, Any]:
    """NGINX Gateway Fabric 2.4.0 RateLimitPolicy: per client address on the API route."""
    return {
        "apiVersion": "gateway.nginx.org/v1alpha1",
        "kind": "RateLimitPolicy",
        "metadata": {"name": "prediction-api", "namespace": HOST_NAMESPACES["api"]},
        "spec": {
            "targetRefs": [
                {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": API_ROUTE}
            ],
            "rateLimit": {
                "local": {
                    "rules": [
                        {
                            "key": "$binary_remote_addr",
                            "zoneSize": "10m",
                            "rate": f"{per_second}r/s",
                            "burst": burst,
                        }
                    ]
                },
                "rejectCode": 429,
            },
        },
    }
