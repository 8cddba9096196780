"""Creates a custom resource from a plain object built by a pure ``build_*`` function."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

# EKS Pod Identity's agent answers on this link-local address on every node (port 80): a pod
# whose egress a NetworkPolicy limits must be let through to it, or it gets no AWS credentials.
POD_IDENTITY_AGENT = "169.254.170.23/32"
POD_IDENTITY_EGRESS = {
    "to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT}}],
    "ports": [{"protocol": "TCP", "port": 80}],
}


def custom_resource(
    resource_name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        metadata=obj["metadata"],
        opts=opts,
        **body,
    )


def with_deps(opts: pulumi.ResourceOptions, *deps: pulumi.Resource) -> pulumi.ResourceOptions:
    """``opts`` plus an explicit wait for ``deps`` (CRDs before their users)."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(deps)))
