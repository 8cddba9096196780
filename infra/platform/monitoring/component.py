"""Monitoring: kube-prometheus-stack, prometheus-adapter, our rules and dashboards, Grafana."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.platform.charts import helm_release
from infra.platform.gateway_objects import build_route
from infra.platform.kube import custom_resource, with_deps
from infra.platform.monitoring.custom_metrics import build_prometheus_adapter_values
from infra.platform.monitoring.dashboards import build_dashboard_config_map, dashboard_files
from infra.platform.monitoring.rules import RuleParams, build_prometheus_rule, rule_files
from infra.platform.monitoring.values import (
    GRAFANA_SERVICE,
    NAMESPACE,
    build_kube_prometheus_stack_values,
)
from infra.platform_config import PlatformConfig


@dataclass(frozen=True, kw_only=True)
class MonitoringArgs:
    platform: PlatformConfig
    rule_params: RuleParams
    namespace: k8s.core.v1.Namespace
    gateway: pulumi.Resource  # the Gateway (and with it the Gateway API CRDs)
    k8s_provider: k8s.Provider


class Monitoring(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:platform:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        stack = helm_release(
            f"{name}-kube-prometheus-stack",
            "kube-prometheus-stack",
            NAMESPACE,
            build_kube_prometheus_stack_values(args.platform),
            with_deps(child, args.namespace),
        )
        # custom.metrics.k8s.io for the prediction API's HPA (in-flight requests per pod).
        helm_release(
            f"{name}-prometheus-adapter",
            "prometheus-adapter",
            NAMESPACE,
            build_prometheus_adapter_values(args.platform.metrics_server_replicas),
            with_deps(child, stack),
        )
        # The chart installs the PrometheusRule CRD: rules wait for the release.
        for path in rule_files():
            custom_resource(
                f"{name}-rules-{path.stem}",
                build_prometheus_rule(path, args.rule_params, NAMESPACE),
                with_deps(child, stack),
            )
        for path in dashboard_files():
            spec = build_dashboard_config_map(path)
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{path.stem}",
                metadata=spec["metadata"],
                data=spec["data"],
                opts=with_deps(child, args.namespace),
            )
        custom_resource(
            f"{name}-grafana-route",
            build_route(
                name="grafana",
                namespace=NAMESPACE,
                purpose="grafana",
                host=args.platform.hosts["grafana"],
                service=GRAFANA_SERVICE,
                port=80,
            ),
            with_deps(child, stack, args.gateway),
        )
        self.register_outputs({})
