"""Cluster: EKS with API-mode access entries, KMS-encrypted secrets and logs, AL2023 nodes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.config import NodeGroupConfig
from infra.foundation.cluster_access import CLUSTER_ADMIN, access_grants
from infra.foundation.cluster_addons import ADDONS
from infra.foundation.iam_documents import pod_identity_trust, service_trust
from infra.foundation.kms import KeyAdmins, KeyUse, customer_key
from infra.foundation.kubeconfig import kubeconfig_json
from infra.renames import with_former_type

LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
AL2023 = "AL2023_x86_64_STANDARD"


def managed_policy(name: str) -> str:
    return f"arn:aws:iam::aws:policy/{name}"


@dataclass(frozen=True, kw_only=True)
class ClusterArgs:
    cluster_name: str
    version: str
    region: str
    account_id: str
    private_subnet_ids: Sequence[pulumi.Input[str]]
    api_allowed_cidrs: tuple[str, ...]  # empty: private endpoint only
    admin_role_arn: str
    deploy_role_arns: Sequence[pulumi.Input[str]]
    viewer_role_arns: Sequence[pulumi.Input[str]] = ()
    system_nodes: NodeGroupConfig
    workload_nodes: NodeGroupConfig
    boundary_arn: pulumi.Input[str]
    key_admins: KeyAdmins
    tags: dict[str, str]
    log_retention_days: int = 90

    @property
    def arn(self) -> str:
        return f"arn:aws:eks:{self.region}:{self.account_id}:cluster/{self.cluster_name}"


def endpoint_access(cidrs: tuple[str, ...]) -> dict[str, Any]:
    """Always private for nodes; public only for the listed ranges, and off if none are."""
    public: dict[str, Any] = {"endpoint_public_access": bool(cidrs)}
    if cidrs:
        public["public_access_cidrs"] = list(cidrs)
    return {"endpoint_private_access": True, **public}


def gp3_storage_class() -> dict[str, Any]:
    return {
        "metadata": {
            "name": "gp3",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "encrypted": "true", "fsType": "ext4"},
        "volume_binding_mode": "WaitForFirstConsumer",
        "allow_volume_expansion": True,
        "reclaim_policy": "Delete",
    }


class Cluster(pulumi.ComponentResource):
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(
            "mlsys:foundation:Cluster", name, None, with_former_type("mlsys:cluster:Cluster", opts)
        )
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self.secrets_key = customer_key(
            f"{name}-secrets-key",
            f"{args.cluster_name} Kubernetes secrets",
            args.tags,
            self._child,
            admins=args.key_admins,
        )
        self.cluster = self._control_plane()
        access = self._access_entries()
        self.node_role = self._role(
            "node",
            service_trust("ec2.amazonaws.com"),
            ["AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly"],
        )
        self.node_groups = [
            self._node_group("system", args.system_nodes),
            self._node_group("workload", args.workload_nodes),
        ]
        self._addons()
        self.name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.node_security_group_id = self.cluster.vpc_config.cluster_security_group_id
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.data
            ).apply(lambda a: kubeconfig_json(a[0], a[1], a[2], args.region))
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            # Without its access entries the provider's first call would be refused.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.node_groups, *access]),
        )
        self._storage_class()
        self.register_outputs(
            {"name": self.name, "endpoint": self.endpoint, "kubeconfig": self.kubeconfig}
        )

    def _role(self, purpose: str, trust: dict[str, object], policies: list[str]) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{self._name}-{purpose}-role",
            assume_role_policy=json.dumps(trust),
            permissions_boundary=self._args.boundary_arn,
            tags=self._args.tags,
            opts=self._child,
        )
        for policy in policies:
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{purpose}-{policy}",
                role=role.name,
                policy_arn=managed_policy(policy),
                opts=pulumi.ResourceOptions(parent=role),
            )
        return role

    def _control_plane(self) -> aws.eks.Cluster:
        args = self._args
        # The VPC resource controller attaches pod ENIs for security groups for pods.
        role = self._role(
            "cluster",
            service_trust("eks.amazonaws.com"),
            ["AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController"],
        )
        log_key = customer_key(
            f"{self._name}-logs-key",
            f"{args.cluster_name} control-plane logs",
            args.tags,
            self._child,
            admins=args.key_admins,
            use=KeyUse(log_service_region=args.region),
        )
        # EKS would create this group itself, unencrypted and kept forever; owning it first
        # sets the key and the retention.
        logs = aws.cloudwatch.LogGroup(
            f"{self._name}-control-plane-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            kms_key_id=log_key.arn,
            tags=args.tags,
            opts=self._child,
        )
        return aws.eks.Cluster(
            f"{self._name}-eks",
            name=args.cluster_name,
            version=args.version,
            role_arn=role.arn,
            vpc_config=cast(
                Any,
                {
                    "subnet_ids": list(args.private_subnet_ids),
                    **endpoint_access(args.api_allowed_cidrs),
                },
            ),
            access_config={
                "authentication_mode": "API",
                "bootstrap_cluster_creator_admin_permissions": False,
            },
            encryption_config={
                "resources": ["secrets"],
                "provider": {"key_arn": self.secrets_key.arn},
            },
            enabled_cluster_log_types=LOG_TYPES,
            bootstrap_self_managed_addons=False,
            upgrade_policy={"support_type": "STANDARD"},
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )

    def _access_entries(self) -> list[pulumi.Resource]:
        created: list[pulumi.Resource] = []
        grants = access_grants(
            self._args.admin_role_arn,
            list(self._args.deploy_role_arns),
            list(self._args.viewer_role_arns),
        )
        for grant in grants:
            entry = aws.eks.AccessEntry(
                f"{self._name}-access-{grant.label}",
                cluster_name=self.cluster.name,
                principal_arn=grant.principal_arn,
                type="STANDARD",
                tags=self._args.tags,
                opts=self._child,
            )
            kind = "admin" if grant.policy_arn == CLUSTER_ADMIN else "view"
            association = aws.eks.AccessPolicyAssociation(
                f"{self._name}-access-{grant.label}-{kind}",
                cluster_name=self.cluster.name,
                principal_arn=grant.principal_arn,
                policy_arn=grant.policy_arn,
                access_scope={"type": "cluster"},
                opts=pulumi.ResourceOptions(parent=entry),
            )
            created += [entry, association]
        return created

    def _node_group(self, role: str, sizes: NodeGroupConfig) -> aws.eks.NodeGroup:
        template = aws.ec2.LaunchTemplate(
            f"{self._name}-{role}-lt",
            # IMDSv2 only, one hop: pods get AWS access from Pod Identity, never the node role.
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
            },
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {
                        "volume_size": 50,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                    },
                }
            ],
            tag_specifications=[
                {"resource_type": "instance", "tags": self._args.tags},
                {"resource_type": "volume", "tags": self._args.tags},
            ],
            tags=self._args.tags,
            opts=self._child,
        )
        return aws.eks.NodeGroup(
            f"{self._name}-{role}-nodes",
            cluster_name=self.cluster.name,
            node_role_arn=self.node_role.arn,
            subnet_ids=list(self._args.private_subnet_ids),
            ami_type=AL2023,
            capacity_type="ON_DEMAND",
            instance_types=list(sizes.instance_types),
            scaling_config={
                "min_size": sizes.min_size,
                "desired_size": sizes.desired_size,
                "max_size": sizes.max_size,
            },
            update_config={"max_unavailable": 1},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels={"mlsys.io/node-role": role},
            tags={
                **self._args.tags,
                f"k8s.io/cluster-autoscaler/{self._args.cluster_name}": "owned",
                "k8s.io/cluster-autoscaler/enabled": "true",
            },
            # The autoscaler owns desired size after creation.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["scalingConfig.desiredSize"]),
        )

    def _addons(self) -> None:
        self.addons: dict[str, aws.eks.Addon] = {}
        for spec in ADDONS:
            associations = None
            if spec.identity is not None:
                account = spec.identity.account
                trust = pod_identity_trust(
                    self._args.account_id,
                    self._args.arn,
                    account.namespace,
                    account.service_account,
                )
                role = self._role(spec.key, trust, [spec.identity.policy])
                associations = [
                    aws.eks.AddonPodIdentityAssociationArgs(
                        role_arn=role.arn, service_account=spec.identity.account.service_account
                    )
                ]
            depends_on: list[pulumi.Resource] = [self.addons[a] for a in spec.after_addons]
            if spec.after_nodes:
                depends_on += self.node_groups
            self.addons[spec.name] = aws.eks.Addon(
                f"{self._name}-{spec.key}",
                cluster_name=self.cluster.name,
                addon_name=spec.name,
                configuration_values=spec.configuration,
                pod_identity_associations=associations,
                resolve_conflicts_on_update="OVERWRITE",
                tags=self._args.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
            )

    def _storage_class(self) -> None:
        spec = gp3_storage_class()
        k8s.storage.v1.StorageClass(
            f"{self._name}-gp3",
            metadata=spec["metadata"],
            provisioner=spec["provisioner"],
            parameters=spec["parameters"],
            volume_binding_mode=spec["volume_binding_mode"],
            allow_volume_expansion=spec["allow_volume_expansion"],
            reclaim_policy=spec["reclaim_policy"],
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.provider, depends_on=[self.addons["aws-ebs-csi-driver"]]
            ),
        )
