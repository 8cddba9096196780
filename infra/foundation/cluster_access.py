"""Who may call the Kubernetes API through EKS access entries, with what policy and why."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

CLUSTER_ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# Reads most objects in every namespace; not Secrets, and no writes.
CLUSTER_VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"


@dataclass(frozen=True)
class AccessGrant:
    label: str  # suffix of the logical names; changing it would replace the entry
    principal_arn: pulumi.Input[str]
    policy_arn: str
    reason: str


def access_grants(
    admin_role_arn: str,
    deploy_role_arns: list[pulumi.Input[str]],
    viewer_role_arns: list[pulumi.Input[str]] | None = None,
) -> list[AccessGrant]:
    """Cluster admin only where the job needs cluster-scoped objects; see docs/infrastructure.md."""
    grants = [
        AccessGrant(
            "admin",
            admin_role_arn,
            CLUSTER_ADMIN,
            "break-glass operator role: repairs anything, including RBAC itself",
        )
    ]
    grants += [
        AccessGrant(
            f"deploy-{i}",
            arn,
            CLUSTER_ADMIN,
            # Namespaced admin (AmazonEKSAdminPolicy) cannot create these, so CD needs more.
            "CD creates cluster-scoped objects: namespaces, StorageClasses, CRDs, ClusterRoles "
            "and webhooks of the platform charts",
        )
        for i, arn in enumerate(deploy_role_arns)
    ]
    grants += [
        AccessGrant(
            f"view-{i}",
            arn,
            CLUSTER_VIEW,
            "pull-request previews compare the program with the live objects, read-only",
        )
        for i, arn in enumerate(viewer_role_arns or [])
    ]
    return grants
