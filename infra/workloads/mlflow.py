"""MLflow on the cluster: migrations first, then the authenticated tracking server and registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.platform.kube import custom_resource, with_deps
from infra.workloads import mlflow_objects as ml
from infra.workloads.app_namespace import open_app_namespace


@dataclass(frozen=True, kw_only=True)
class MlflowArgs:
    image: str
    aws_cli_image: str
    region: str
    host: str
    vpc_cidr: str
    replicas: int
    artifacts_bucket: pulumi.Input[str]
    # The database clients' group first, then the cluster's (DNS and the rest keep working).
    security_group_ids: Sequence[pulumi.Input[str]]
    namespace: pulumi.Resource
    identity: pulumi.Resource  # the mlflow Pod Identity association
    database: pulumi.Resource  # the bootstrap that creates the mlflow database and login
    vault: pulumi.Resource
    gateway: pulumi.Resource
    monitoring: pulumi.Resource
    k8s_provider: k8s.Provider


class Mlflow(pulumi.ComponentResource):
    url: pulumi.Output[str]
    # What a caller of the tracking server waits for: the server is up and migrated.
    server: pulumi.Resource

    def __init__(
        self, name: str, args: MlflowArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:workloads:Mlflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        in_namespace = with_deps(child, args.namespace)
        opened = open_app_namespace(
            name,
            namespace_name=ml.NAMESPACE,
            account=ml.build_service_account(),
            account_resource="sa",
            security_group_ids=args.security_group_ids,
            deliveries=(ml.ADMIN, ml.SCRAPE),
            namespace=args.namespace,
            vault=args.vault,
            child=child,
        )
        for builder in (ml.build_network_policy, ml.build_migration_network_policy):
            policy = builder()
            k8s.networking.v1.NetworkPolicy(
                f"{name}-network-policy-{policy['metadata']['name']}",
                metadata=policy["metadata"],
                spec=policy["spec"],
                opts=in_namespace,
            )
        pods_after = [opened.service_account, opened.database_clients, args.identity, args.database]
        settings = pulumi.Output.from_input(args.artifacts_bucket).apply(
            lambda bucket: ml.MlflowSettings(
                image=args.image,
                aws_cli_image=args.aws_cli_image,
                region=args.region,
                host=args.host,
                vpc_cidr=args.vpc_cidr,
                artifacts_bucket=bucket,
                replicas=args.replicas,
            )
        )
        job = k8s.batch.v1.Job(
            f"{name}-migrate",
            metadata={"name": ml.migration_job_name(args.image), "namespace": ml.NAMESPACE},
            spec=settings.apply(lambda s: ml.build_migration_job(s)["spec"]),
            opts=with_deps(child, *pods_after, args.vault),
        )
        deployment_meta: Any = {
            "name": ml.NAME,
            "namespace": ml.NAMESPACE,
            "labels": ml.build_service()["metadata"]["labels"],
        }
        # Pulumi waits for the Job to complete: the server rolls out on a migrated schema.
        self.server = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=deployment_meta,
            spec=settings.apply(lambda s: ml.build_deployment(s)["spec"]),
            opts=with_deps(child, job, *opened.secrets, *pods_after),
        )
        pdb = ml.build_pdb()
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb", metadata=pdb["metadata"], spec=pdb["spec"], opts=in_namespace
        )
        service_spec = ml.build_service()
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=service_spec["metadata"],
            spec=service_spec["spec"],
            opts=in_namespace,
        )
        custom_resource(
            f"{name}-service-monitor",
            ml.build_service_monitor(),
            with_deps(child, args.monitoring, *opened.secrets),
        )
        custom_resource(
            f"{name}-route",
            ml.build_route(args.host),
            with_deps(child, args.gateway, service, self.server),
        )
        self.url = pulumi.Output.from_input(f"https://{args.host}")
        self.register_outputs({"url": self.url})
