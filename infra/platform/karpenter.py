"""Karpenter on the cluster: the controller on the system nodes, a NodePool per workload class."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.foundation.karpenter import KARPENTER
from infra.platform.charts import helm_release
from infra.platform.kube import custom_resource, with_deps

NAMESPACE = KARPENTER.namespace
KARPENTER_API = "karpenter.sh/v1"
NODECLASS_API = "karpenter.k8s.aws/v1"
SYSTEM_NODES = {"mlsys.io/node-role": "system"}  # the managed system node group's label
TRAINING_TAINT = {"key": "mlsys.io/training", "value": "true", "effect": "NoSchedule"}


@dataclass(frozen=True, kw_only=True)
class WorkloadClass:
    """One NodePool and its EC2NodeClass: what may run there, and how much of it."""

    name: str
    capacity_types: tuple[str, ...]
    cpu_limit: int  # vCPUs across all the pool's nodes
    memory_limit_gi: int
    taints: tuple[dict[str, str], ...] = ()
    volume_gb: int = 50


def default_classes(*, is_prod: bool) -> tuple[WorkloadClass, ...]:
    """``general`` on demand for serving and MLflow; ``training`` may use spot, tainted so
    only pipeline pods (which tolerate it) land there. Prod gets the larger ceilings."""
    scale = 4 if is_prod else 1
    return (
        WorkloadClass(
            name="general",
            capacity_types=("on-demand",),
            cpu_limit=32 * scale,
            memory_limit_gi=128 * scale,
        ),
        WorkloadClass(
            name="training",
            capacity_types=("spot", "on-demand"),
            cpu_limit=32 * scale,
            memory_limit_gi=128 * scale,
            taints=(TRAINING_TAINT,),
            volume_gb=100,
        ),
    )


def build_karpenter_values(*, cluster_name: str, queue_name: str, replicas: int) -> dict[str, Any]:
    """Values for karpenter 1.8.3 (keys from that version's values.yaml)."""
    return {
        "replicas": replicas,
        "serviceAccount": {"create": True, "name": KARPENTER.service_account},
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        # Never on a node it manages: it would evict itself while consolidating.
        "nodeSelector": {"kubernetes.io/os": "linux", **SYSTEM_NODES},
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
        "controller": {
            "resources": {
                "requests": {"cpu": "250m", "memory": "512Mi"},
                "limits": {"memory": "1Gi"},
            }
        },
        "logLevel": "info",
    }


def build_node_class(
    workload: WorkloadClass,
    *,
    cluster_name: str,
    node_role: str,
    security_group_id: str,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """AL2023, IMDSv2 only with one hop (pods cannot reach the node's credentials), an
    encrypted gp3 root volume; the private subnets by the cluster's discovery tags, and the
    node groups' own security group, so Karpenter's nodes are reachable like theirs."""
    owned = {f"kubernetes.io/cluster/{cluster_name}": "*"}
    return {
        "apiVersion": NODECLASS_API,
        "kind": "EC2NodeClass",
        "metadata": {"name": workload.name},
        "spec": {
            "role": node_role,
            "amiSelectorTerms": [{"alias": "al2023@latest"}],
            "subnetSelectorTerms": [{"tags": {"kubernetes.io/role/internal-elb": "1", **owned}}],
            "securityGroupSelectorTerms": [{"id": security_group_id}],
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "ebs": {
                        "volumeSize": f"{workload.volume_gb}Gi",
                        "volumeType": "gp3",
                        "encrypted": True,
                        "deleteOnTermination": True,
                    },
                }
            ],
            # The stack's tags too: instances, volumes and interfaces carry them like the
            # node groups' do (cost reports, the environment tag the deploy role scopes by).
            "tags": {**(tags or {}), "mlsys.io/workload-class": workload.name},
        },
    }


def build_node_pool(workload: WorkloadClass) -> dict[str, Any]:
    """Consolidation on: empty or underused nodes go once pods fit elsewhere."""
    template: dict[str, Any] = {
        "metadata": {"labels": {"mlsys.io/workload-class": workload.name}},
        "spec": {
            "nodeClassRef": {
                "group": "karpenter.k8s.aws",
                "kind": "EC2NodeClass",
                "name": workload.name,
            },
            "requirements": [
                {
                    "key": "karpenter.sh/capacity-type",
                    "operator": "In",
                    "values": list(workload.capacity_types),
                },
                {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                {
                    "key": "karpenter.k8s.aws/instance-category",
                    "operator": "In",
                    "values": ["c", "m", "r"],
                },
                {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["5"]},
            ],
            "expireAfter": "720h",  # a month: nodes pick up new AMIs at least that often
        },
    }
    if workload.taints:
        template["spec"]["taints"] = [dict(t) for t in workload.taints]
    return {
        "apiVersion": KARPENTER_API,
        "kind": "NodePool",
        "metadata": {"name": workload.name},
        "spec": {
            "template": template,
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": "1m",
            },
            "limits": {"cpu": str(workload.cpu_limit), "memory": f"{workload.memory_limit_gi}Gi"},
        },
    }


def _node_class_spec(
    workload: WorkloadClass, tags: dict[str, str]
) -> Callable[[list[Any]], dict[str, Any]]:
    def spec(a: list[Any]) -> dict[str, Any]:
        node_class = build_node_class(
            workload, cluster_name=a[0], node_role=a[1], security_group_id=a[2], tags=tags
        )
        return dict(node_class["spec"])

    return spec


@dataclass(frozen=True, kw_only=True)
class KarpenterArgs:
    cluster_name: pulumi.Input[str]
    queue_name: pulumi.Input[str]
    node_role_name: pulumi.Input[str]
    node_security_group_id: pulumi.Input[str]
    identity: pulumi.Resource  # the controller's Pod Identity association
    classes: tuple[WorkloadClass, ...]
    replicas: int
    k8s_provider: k8s.Provider
    tags: dict[str, str] = field(default_factory=dict)  # the stack's tags, for the nodes


class Karpenter(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:platform:Karpenter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        values = pulumi.Output.all(args.cluster_name, args.queue_name).apply(
            lambda a: build_karpenter_values(
                cluster_name=a[0], queue_name=a[1], replicas=args.replicas
            )
        )
        # The chart installs the NodePool and EC2NodeClass CRDs: the pools wait for it.
        release = helm_release(
            f"{name}-controller", "karpenter", NAMESPACE, values, with_deps(child, args.identity)
        )
        inputs = pulumi.Output.all(
            args.cluster_name, args.node_role_name, args.node_security_group_id
        )
        for workload in args.classes:
            created = k8s.apiextensions.CustomResource(
                f"{name}-nodeclass-{workload.name}",
                api_version=NODECLASS_API,
                kind="EC2NodeClass",
                metadata={"name": workload.name},
                spec=inputs.apply(_node_class_spec(workload, args.tags)),
                opts=with_deps(child, release),
            )
            custom_resource(
                f"{name}-nodepool-{workload.name}",
                build_node_pool(workload),
                with_deps(child, release, created),
            )
        self.register_outputs({})
