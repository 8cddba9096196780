"""What MLflow and Airflow each set up in their namespace before their pods: the service
account their pods run as, the SecurityGroupPolicy that lets those pods reach RDS, and the
Secrets Vault Secrets Operator delivers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.platform.database_bootstrap import build_security_group_policy
from infra.platform.kube import custom_resource, with_deps
from infra.platform.vault.objects import Delivery, build_static_secret


@dataclass(frozen=True)
class AppNamespace:
    service_account: k8s.core.v1.ServiceAccount
    database_clients: pulumi.Resource
    secrets: Sequence[pulumi.Resource]


def open_app_namespace(
    name: str,
    *,
    namespace_name: str,
    account: dict[str, Any],
    account_resource: str,
    security_group_ids: Sequence[pulumi.Input[str]],
    deliveries: Iterable[Delivery],
    namespace: pulumi.Resource,
    vault: pulumi.Resource,
    child: pulumi.ResourceOptions,
) -> AppNamespace:
    """``account_resource`` names the ServiceAccount resource (``<name>-<it>``), as before."""
    in_namespace = with_deps(child, namespace)
    service_account = k8s.core.v1.ServiceAccount(
        f"{name}-{account_resource}",
        metadata=account["metadata"],
        automount_service_account_token=False,
        opts=in_namespace,
    )
    # The CRD comes with the VPC resource controller EKS runs (security groups for pods).
    database_clients = custom_resource(
        f"{name}-database-clients",
        build_security_group_policy(namespace_name, security_group_ids),
        in_namespace,
    )
    secrets = [
        custom_resource(
            f"{name}-secret-{delivery.secret}",
            build_static_secret(delivery),
            with_deps(child, vault, namespace),
        )
        for delivery in deliveries
    ]
    return AppNamespace(service_account, database_clients, secrets)
