"""The prediction API on the cluster: stable and optional canary backends behind one route."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.platform.kube import custom_resource, with_deps
from infra.platform.vault.objects import build_static_secret
from infra.workloads import prediction_api_objects as api
from infra.workloads_config import WorkloadsConfig


@dataclass(frozen=True, kw_only=True)
class PredictionApiArgs:
    workloads: WorkloadsConfig
    region: str
    host: str
    aws_cli_image: str
    signing_key_arn: pulumi.Input[str]
    namespace: pulumi.Resource
    identity: pulumi.Resource  # the serving Pod Identity association: pods start after it
    vault: pulumi.Resource  # VaultAuth objects and the Secrets Operator's CRDs
    gateway: pulumi.Resource
    monitoring: pulumi.Resource  # the ServiceMonitor CRD
    k8s_provider: k8s.Provider


class PredictionApi(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: PredictionApiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:workloads:PredictionApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        in_namespace = with_deps(child, args.namespace)
        account = api.build_service_account()
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=account["metadata"],
            automount_service_account_token=False,
            opts=in_namespace,
        )
        login = custom_resource(
            f"{name}-mlflow-login",
            build_static_secret(api.MLFLOW_LOGIN),
            with_deps(child, args.vault, args.namespace),
        )
        pods_after = [service_account, login, args.identity]
        config = args.workloads
        tracks: list[tuple[api.Track, str, int]] = [
            ("stable", config.app_image, config.api_min_replicas)
        ]
        if config.canary is not None:
            floor = api.canary_min_replicas(config.canary.weight, config.api_min_replicas)
            tracks.append(("canary", config.canary.image, floor))
        backends: list[pulumi.Resource] = []
        for track, image, min_replicas in tracks:
            suffix = "" if track == "stable" else "-canary"
            spec = pulumi.Output.from_input(args.signing_key_arn).apply(
                partial(_deployment_spec, track, image, args)
            )
            manifest = api.build_deployment(track, image, _settings(args, ""))
            deployment = k8s.apps.v1.Deployment(
                f"{name}-deployment{suffix}",
                metadata=manifest["metadata"],
                spec=spec,
                opts=with_deps(child, *pods_after),
            )
            hpa = api.build_hpa(track, min_replicas, config.api_max_replicas)
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa{suffix}",
                metadata=hpa["metadata"],
                spec=hpa["spec"],
                opts=with_deps(child, deployment),
            )
            pdb = api.build_pdb(track)
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb{suffix}", metadata=pdb["metadata"], spec=pdb["spec"], opts=in_namespace
            )
            service = api.build_service(track)
            backends += [
                deployment,
                k8s.core.v1.Service(
                    f"{name}-service{suffix}",
                    metadata=service["metadata"],
                    spec=service["spec"],
                    opts=in_namespace,
                ),
            ]
        policy = api.build_network_policy()
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=policy["metadata"],
            spec=policy["spec"],
            opts=in_namespace,
        )
        custom_resource(
            f"{name}-service-monitor",
            api.build_service_monitor(),
            with_deps(child, args.monitoring, args.namespace),
        )
        weight = config.canary.weight if config.canary else 0
        custom_resource(
            f"{name}-route",
            api.build_route(args.host, weight),
            # A new backend takes requests only once its pods are ready.
            with_deps(child, args.gateway, *backends),
        )
        self.url = pulumi.Output.from_input(f"https://{args.host}")
        self.register_outputs({"url": self.url})


def _settings(args: PredictionApiArgs, signing_key_arn: str) -> api.ApiSettings:
    return api.ApiSettings(
        region=args.region,
        host=args.host,
        aws_cli_image=args.aws_cli_image,
        signing_key_arn=signing_key_arn,
    )


def _deployment_spec(
    track: api.Track, image: str, args: PredictionApiArgs, signing_key_arn: str
) -> Any:  # a DeploymentSpec as a plain dict
    return api.build_deployment(track, image, _settings(args, signing_key_arn))["spec"]
