"""The edge: Gateway API CRDs, NGINX Gateway Fabric behind an NLB, cert-manager and TLS."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.platform import gateway_objects as gw
from infra.platform import tls_objects as tls
from infra.platform.charts import GATEWAY_API_CRDS, helm_release
from infra.platform.kube import custom_resource, with_deps


@dataclass(frozen=True, kw_only=True)
class EdgeGatewayArgs:
    hosts: dict[str, str]  # purpose -> public host
    acme_issuer: str  # the ClusterIssuer the certificates use
    acme_email: str
    gateway_replicas: int
    controller_replicas: int  # cert-manager's controller, webhook and cainjector
    api_rate_limit_per_second: int
    api_rate_limit_burst: int
    namespaces: dict[str, k8s.core.v1.Namespace]
    k8s_provider: k8s.Provider
    # DNS-01: (region, Route 53 zone id) and cert-manager's Pod Identity association.
    dns01: tuple[str, str] | None = None
    dns01_identity: pulumi.Resource | None = None


class EdgeGateway(pulumi.ComponentResource):
    gateway_api_crds: pulumi.Resource
    gateway: pulumi.Resource
    cert_manager: pulumi.Resource

    def __init__(
        self, name: str, args: EdgeGatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:platform:EdgeGateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        ns = args.namespaces
        self.gateway_api_crds = k8s.yaml.v2.ConfigFile(
            f"{name}-gateway-api-crds", file=GATEWAY_API_CRDS, opts=child
        )
        # The controller watches Gateway API types at start-up: the CRDs must exist first.
        fabric = helm_release(
            f"{name}-nginx-gateway-fabric",
            "nginx-gateway-fabric",
            gw.GATEWAY_NAMESPACE,
            gw.build_gateway_fabric_values(replicas=args.gateway_replicas),
            with_deps(child, self.gateway_api_crds, ns[gw.GATEWAY_NAMESPACE]),
        )
        self.cert_manager = cert_manager = helm_release(
            f"{name}-cert-manager",
            "cert-manager",
            "cert-manager",
            tls.build_cert_manager_values(replicas=args.controller_replicas),
            with_deps(
                child,
                self.gateway_api_crds,
                ns["cert-manager"],
                *([args.dns01_identity] if args.dns01_identity else []),
            ),
        )
        self.gateway = custom_resource(
            f"{name}-gateway", gw.build_gateway(args.hosts), with_deps(child, fabric)
        )
        custom_resource(
            f"{name}-https-redirect",
            gw.build_https_redirect(args.hosts),
            with_deps(child, self.gateway),
        )
        # cert-manager's chart installs its CRDs: issuers and certificates wait for it.
        issuers = [
            custom_resource(
                f"{name}-{issuer}",
                tls.build_cluster_issuer(issuer, args.acme_email, args.dns01),
                with_deps(child, cert_manager, self.gateway),
            )
            for issuer in tls.ACME_SERVERS
        ]
        for purpose, host in args.hosts.items():
            custom_resource(
                f"{name}-certificate-{purpose}",
                tls.build_certificate(purpose, host, args.acme_issuer),
                with_deps(child, *issuers),
            )
        # The policy CRD comes with the NGINX Gateway Fabric chart.
        custom_resource(
            f"{name}-api-rate-limit",
            gw.build_api_rate_limit(
                per_second=args.api_rate_limit_per_second, burst=args.api_rate_limit_burst
            ),
            with_deps(child, fabric, ns[gw.HOST_NAMESPACES["api"]]),
        )
        self.register_outputs({})
