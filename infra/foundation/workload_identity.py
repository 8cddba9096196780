"""Workload identities: one EKS Pod Identity role per workload, each scoped to its ARNs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.foundation import iam_documents as iam
from infra.foundation import service_accounts as accounts
from infra.foundation.kms import customer_key
from infra.foundation.service_accounts import ServiceAccountRef
from infra.renames import with_former_type


@dataclass(frozen=True, kw_only=True)
class WorkloadIdentitiesArgs:
    prefix: str
    cluster_name: pulumi.Input[str]
    region: str
    account_id: str
    bucket_arns: dict[str, pulumi.Input[str]]
    storage_key_arn: pulumi.Input[str]
    tags: dict[str, str]


class WorkloadIdentities(pulumi.ComponentResource):
    role_arns: dict[str, pulumi.Output[str]]
    vault_key_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: WorkloadIdentitiesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(
            "mlsys:foundation:WorkloadIdentities",
            name,
            None,
            with_former_type("mlsys:identity:WorkloadIdentities", opts),
        )
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        vault_key = customer_key(
            f"{name}-vault-unseal",
            f"{args.prefix} Vault auto-unseal",
            args.tags,
            self._child,
        )
        self.vault_key_arn = vault_key.arn
        b, key = args.bucket_arns, args.storage_key_arn
        documents: dict[str, tuple[ServiceAccountRef, pulumi.Output[Any]]] = {
            "mlflow": (
                accounts.MLFLOW,
                pulumi.Output.all(b["mlflow-artifacts"], key).apply(
                    lambda a: iam.document(*iam.bucket_write(a[0], a[1]))
                ),
            ),
            "training": (
                accounts.TRAINING,
                pulumi.Output.all(b["datasets"], b["mlflow-artifacts"], key).apply(
                    lambda a: iam.document(
                        *iam.bucket_read(a[0], a[2]), *iam.bucket_write(a[1], a[2])
                    )
                ),
            ),
            "serving": (
                accounts.SERVING,
                pulumi.Output.all(b["mlflow-artifacts"], key).apply(
                    lambda a: iam.document(*iam.bucket_read(a[0], a[1]))
                ),
            ),
            "velero": (
                accounts.VELERO,
                pulumi.Output.all(b["backups"], key).apply(
                    lambda a: iam.velero(a[0], a[1], args.region, args.account_id)
                ),
            ),
            "vault": (accounts.VAULT, vault_key.arn.apply(iam.kms_use)),
        }
        self.role_arns = {
            purpose: self._role(purpose, ref, doc) for purpose, (ref, doc) in documents.items()
        }
        self.register_outputs({"role_arns": self.role_arns})

    def _role(
        self, purpose: str, ref: ServiceAccountRef, policy: pulumi.Output[Any]
    ) -> pulumi.Output[str]:
        role = aws.iam.Role(
            f"{self._name}-{purpose}",
            name=f"{self._args.prefix}-{purpose}",
            assume_role_policy=json.dumps(iam.pod_identity_trust()),
            tags={**self._args.tags, "workload": purpose},
            opts=self._child,
        )
        opts = pulumi.ResourceOptions(parent=role)
        aws.iam.RolePolicy(
            f"{self._name}-{purpose}-policy",
            role=role.id,
            policy=policy.apply(json.dumps),
            opts=opts,
        )
        aws.eks.PodIdentityAssociation(
            f"{self._name}-{purpose}-association",
            cluster_name=self._args.cluster_name,
            namespace=ref.namespace,
            service_account=ref.service_account,
            role_arn=role.arn,
            tags=self._args.tags,
            opts=opts,
        )
        return role.arn
