"""Logging: ECK, Elasticsearch, Kibana behind the gateway, Fluent Bit, the index lifecycle."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.platform.charts import helm_release
from infra.platform.gateway_objects import build_route
from infra.platform.kube import custom_resource, with_deps
from infra.platform.logging import objects as obj
from infra.platform.logging.values import (
    CLUSTER,
    NAMESPACE,
    build_eck_operator_values,
    build_fluent_bit_values,
)


@dataclass(frozen=True, kw_only=True)
class LoggingArgs:
    elasticsearch_nodes: int
    elasticsearch_volume_gb: int
    kibana_replicas: int
    operator_replicas: int
    retention_days: int
    kibana_host: str
    job_image: str  # has sh and curl; pinned by digest
    namespace: k8s.core.v1.Namespace
    gateway: pulumi.Resource  # the Gateway (and with it the Gateway API CRDs)
    k8s_provider: k8s.Provider


class Logging(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: LoggingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:platform:Logging", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        operator = helm_release(
            f"{name}-eck-operator",
            "eck-operator",
            NAMESPACE,
            build_eck_operator_values(replicas=args.operator_replicas),
            with_deps(child, args.namespace),
        )
        # The operator's chart installs the Elasticsearch and Kibana CRDs.
        elasticsearch = custom_resource(
            f"{name}-elasticsearch",
            obj.build_elasticsearch(
                nodes=args.elasticsearch_nodes, volume_gb=args.elasticsearch_volume_gb
            ),
            with_deps(child, operator),
        )
        kibana = custom_resource(
            f"{name}-kibana",
            obj.build_kibana(replicas=args.kibana_replicas, host=args.kibana_host),
            with_deps(child, operator, elasticsearch),
        )
        custom_resource(
            f"{name}-kibana-route",
            build_route(
                name="kibana",
                namespace=NAMESPACE,
                purpose="kibana",
                host=args.kibana_host,
                service=f"{CLUSTER}-kb-http",  # ECK's Service for Kibana <name>
                port=5601,
            ),
            with_deps(child, kibana, args.gateway),
        )
        # Fluent Bit reads ECK's CA and elastic user Secrets, which exist once the
        # Elasticsearch object does.
        helm_release(
            f"{name}-fluent-bit",
            "fluent-bit",
            NAMESPACE,
            build_fluent_bit_values(),
            with_deps(child, elasticsearch),
        )
        job = obj.build_lifecycle_job(
            args.job_image,
            retention_days=args.retention_days,
            index_replicas=min(1, args.elasticsearch_nodes - 1),
        )
        k8s.batch.v1.Job(
            f"{name}-index-lifecycle",
            metadata=job["metadata"],
            spec=job["spec"],
            opts=with_deps(child, elasticsearch),
        )
        self.register_outputs({})
