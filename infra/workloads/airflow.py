"""Airflow on the cluster: the official chart with KubernetesExecutor, RDS metadata, S3 logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.platform.charts import helm_release
from infra.platform.kube import custom_resource, with_deps
from infra.workloads import airflow_values as af
from infra.workloads.app_namespace import open_app_namespace


@dataclass(frozen=True, kw_only=True)
class AirflowArgs:
    image: str
    training_image: str
    aws_cli_image: str
    region: str
    host: str
    schedule: str
    replicas: int
    datasets_bucket: pulumi.Input[str]
    signing_key_arn: pulumi.Input[str]
    security_group_ids: Sequence[pulumi.Input[str]]  # the database clients' group first
    namespace: pulumi.Resource
    # The airflow and training Pod Identity associations: pods start after both.
    identities: Sequence[pulumi.Resource]
    database: pulumi.Resource  # the bootstrap that creates the airflow database and login
    mlflow: pulumi.Resource  # the tracking server the training steps log to
    vault: pulumi.Resource
    gateway: pulumi.Resource
    monitoring: pulumi.Resource
    k8s_provider: k8s.Provider


class Airflow(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: AirflowArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:workloads:Airflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        in_namespace = with_deps(child, args.namespace)
        opened = open_app_namespace(
            name,
            namespace_name=af.NAMESPACE,
            account=af.build_training_service_account(),
            account_resource="training-sa",
            security_group_ids=args.security_group_ids,
            deliveries=(af.KEYS, af.TRAINING_LOGIN),
            namespace=args.namespace,
            vault=args.vault,
            child=child,
        )
        policy = af.build_network_policy()
        network_policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=policy["metadata"],
            spec=policy["spec"],
            opts=in_namespace,
        )
        values = pulumi.Output.all(args.datasets_bucket, args.signing_key_arn).apply(
            lambda a: af.build_airflow_values(
                af.AirflowSettings(
                    image=args.image,
                    training_image=args.training_image,
                    aws_cli_image=args.aws_cli_image,
                    region=args.region,
                    host=args.host,
                    schedule=args.schedule,
                    datasets_bucket=a[0],
                    signing_key_arn=a[1],
                    replicas=args.replicas,
                )
            )
        )
        release = helm_release(
            f"{name}-release",
            "airflow",
            af.NAMESPACE,
            values,
            with_deps(
                child,
                args.namespace,
                opened.service_account,
                opened.database_clients,
                network_policy,
                *opened.secrets,
                *args.identities,
                args.database,
                args.mlflow,
            ),
        )
        custom_resource(
            f"{name}-statsd-monitor",
            af.build_statsd_monitor(),
            with_deps(child, args.monitoring, release),
        )
        custom_resource(
            f"{name}-route",
            af.build_route(args.host),
            with_deps(child, args.gateway, release),
        )
        self.url = pulumi.Output.from_input(f"https://{args.host}")
        self.register_outputs({"url": self.url})
