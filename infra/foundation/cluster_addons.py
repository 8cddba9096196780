"""The EKS managed add-ons as one table: name, order, configuration and Pod Identity role."""

from __future__ import annotations

import json
from dataclasses import dataclass

from infra.foundation.service_accounts import EBS_CSI, VPC_CNI, ServiceAccountRef


@dataclass(frozen=True)
class AddonIdentity:
    """The add-on's service account gets a Pod Identity role with one AWS managed policy."""

    account: ServiceAccountRef
    policy: str


@dataclass(frozen=True, kw_only=True)
class AddonSpec:
    name: str  # the EKS add-on name
    key: str  # suffix of the logical names; changing it would replace the add-on
    after_addons: tuple[str, ...] = ()
    after_nodes: bool = False  # its pods need nodes to schedule on, or the add-on stays degraded
    configuration: str | None = None
    identity: AddonIdentity | None = None


def vpc_cni_configuration() -> str:
    """NetworkPolicies enforced, and security groups for pods (only database clients get
    the group the database admits); standard mode keeps NetworkPolicies applying to them."""
    return json.dumps(
        {
            "enableNetworkPolicy": "true",
            "env": {"ENABLE_POD_ENI": "true", "POD_SECURITY_GROUP_ENFORCING_MODE": "standard"},
        }
    )


# In creation order: an add-on may wait only for the ones above it.
ADDONS: tuple[AddonSpec, ...] = (
    AddonSpec(name="eks-pod-identity-agent", key="pod-identity-agent"),
    AddonSpec(
        name="vpc-cni",
        key="vpc-cni",
        # The CNI reaches AWS through its Pod Identity role, which needs the agent running.
        after_addons=("eks-pod-identity-agent",),
        configuration=vpc_cni_configuration(),
        identity=AddonIdentity(VPC_CNI, "AmazonEKS_CNI_Policy"),
    ),
    AddonSpec(name="kube-proxy", key="kube-proxy"),
    AddonSpec(name="coredns", key="coredns", after_nodes=True),
    AddonSpec(
        name="aws-ebs-csi-driver",
        key="ebs-csi",
        after_nodes=True,
        identity=AddonIdentity(EBS_CSI, "service-role/AmazonEBSCSIDriverPolicy"),
    ),
)
