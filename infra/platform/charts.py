"""Every chart the platform installs, pinned in one table, and the one way to install it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True, kw_only=True)
class Chart:
    name: str
    repository: str  # an https Helm repository, or an oci:// registry path
    version: str
    # Long enough for the chart's hooks and images on a fresh node; atomic rolls back after.
    timeout_seconds: int


# To upgrade a chart: read the new version's values.yaml and changelog, change the version
# here and in the builder's docstring, and drop or rename any key the new version no longer
# documents (docs/infrastructure.md, "Upgrading a chart").
CHARTS: dict[str, Chart] = {
    "nginx-gateway-fabric": Chart(
        name="nginx-gateway-fabric",
        repository="oci://ghcr.io/nginx/charts",
        version="2.4.0",
        timeout_seconds=600,
    ),
    "cert-manager": Chart(
        name="cert-manager",
        repository="https://charts.jetstack.io",
        version="v1.19.1",
        timeout_seconds=600,
    ),
    "kube-prometheus-stack": Chart(
        name="kube-prometheus-stack",
        repository="https://prometheus-community.github.io/helm-charts",
        version="79.5.0",
        # The operator's CRDs, admission webhook jobs and two StatefulSets on new volumes.
        timeout_seconds=1200,
    ),
    "prometheus-adapter": Chart(
        name="prometheus-adapter",
        repository="https://prometheus-community.github.io/helm-charts",
        version="5.3.0",  # prometheus-adapter v0.12.0
        timeout_seconds=300,
    ),
    "vault": Chart(
        name="vault",
        repository="https://helm.releases.hashicorp.com",
        version="0.31.0",  # Vault 1.20.4
        # A StatefulSet started one pod at a time, each on a new volume.
        timeout_seconds=900,
    ),
    "vault-secrets-operator": Chart(
        name="vault-secrets-operator",
        repository="https://helm.releases.hashicorp.com",
        version="0.10.0",
        timeout_seconds=600,
    ),
    "metrics-server": Chart(
        name="metrics-server",
        repository="https://kubernetes-sigs.github.io/metrics-server/",
        version="3.13.0",
        timeout_seconds=300,
    ),
    "velero": Chart(
        name="velero",
        repository="https://vmware-tanzu.github.io/helm-charts",
        version="11.0.0",  # Velero 1.17
        timeout_seconds=600,
    ),
    "eck-operator": Chart(
        name="eck-operator",
        repository="https://helm.elastic.co",
        version="3.1.0",
        timeout_seconds=600,
    ),
    "fluent-bit": Chart(
        name="fluent-bit",
        repository="https://fluent.github.io/helm-charts",
        version="0.50.0",
        # A DaemonSet rolls node by node.
        timeout_seconds=900,
    ),
    "airflow": Chart(
        name="airflow",
        repository="https://airflow.apache.org",
        version="1.22.0",  # run with Airflow 3.3.2 (airflowVersion in its values)
        # The migration Job runs before the components turn ready, each on a fresh pod.
        timeout_seconds=1200,
    ),
    "prometheus-postgres-exporter": Chart(
        name="prometheus-postgres-exporter",
        repository="https://prometheus-community.github.io/helm-charts",
        version="7.3.0",  # postgres_exporter 0.18.1
        timeout_seconds=300,
    ),
    "karpenter": Chart(
        name="karpenter",
        repository="oci://public.ecr.aws/karpenter",
        version="1.8.3",  # installs the NodePool, NodeClaim and EC2NodeClass CRDs
        timeout_seconds=600,
    ),
}
# Gateway API ships its CRDs as a release manifest, not a chart; pinned beside the charts.
# The version nginx-gateway-fabric 2.4.0 is built and tested against (its technical specs).
GATEWAY_API_VERSION = "v1.4.1"
GATEWAY_API_CRDS = (
    "https://github.com/kubernetes-sigs/gateway-api/releases/download/"
    f"{GATEWAY_API_VERSION}/standard-install.yaml"
)


def build_release_args(key: str, namespace: str, values: dict[str, Any]) -> dict[str, Any]:
    """The helm.v3.Release arguments for chart ``key``: pinned, atomic, cleaned up on failure."""
    chart = CHARTS[key]
    oci = chart.repository.startswith("oci://")
    return {
        "name": key,  # a fixed release name keeps the chart's Service names stable
        "chart": f"{chart.repository}/{chart.name}" if oci else chart.name,
        "version": chart.version,
        "repository_opts": None if oci else {"repo": chart.repository},
        "namespace": namespace,
        "create_namespace": False,  # namespaces come labelled from the Namespaces component
        "atomic": True,
        "cleanup_on_fail": True,
        "timeout": chart.timeout_seconds,
        "values": values,
    }


def helm_release(
    resource_name: str,
    key: str,
    namespace: str,
    values: pulumi.Input[dict[str, Any]],  # an Output when a value waits on a resource
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    args = build_release_args(key, namespace, {})
    args["values"] = values
    repository = args.pop("repository_opts")
    return k8s.helm.v3.Release(
        resource_name,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repository["repo"])
        if repository
        else None,
        opts=opts,
        **args,
    )
