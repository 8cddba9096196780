"""Workload identities: one EKS Pod Identity role per workload, each scoped to its ARNs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.foundation import iam_documents as iam
from infra.foundation import service_accounts as accounts
from infra.foundation.database import MONITORING_USER
from infra.foundation.kms import KeyAdmins, customer_key, signing_key
from infra.foundation.service_accounts import ServiceAccountRef
from infra.renames import with_former_type


@dataclass(frozen=True, kw_only=True)
class DatabaseAccess:
    """What IAM database authentication and the bootstrap's secret read need."""

    resource_id: pulumi.Input[str]
    secret_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class WorkloadIdentitiesArgs:
    prefix: str
    cluster_name: pulumi.Input[str]  # an Output of the cluster: associations wait for it
    cluster_arn: str  # known before the cluster exists, for the trust conditions
    region: str
    account_id: str
    bucket_arns: dict[str, pulumi.Input[str]]
    storage_key_arn: pulumi.Input[str]
    database: DatabaseAccess
    key_admins: KeyAdmins
    boundary_arn: pulumi.Input[str]
    tags: dict[str, str]
    dns_zone_id: str | None = None  # a Route 53 zone: cert-manager then gets a DNS-01 role


# Purpose -> the service account its role is bound to. The purpose names the role and is a
# key of the podIdentityRoleArns output: add, never rename.
WORKLOADS: dict[str, ServiceAccountRef] = {
    "mlflow": accounts.MLFLOW,
    "training": accounts.TRAINING,
    "serving": accounts.SERVING,
    "velero": accounts.VELERO,
    "vault": accounts.VAULT,
    "airflow": accounts.AIRFLOW,
    "db-bootstrap": accounts.DB_BOOTSTRAP,
    "db-backup": accounts.DB_BACKUP,
    "postgres-exporter": accounts.POSTGRES_EXPORTER,
}


class WorkloadIdentities(pulumi.ComponentResource):
    role_arns: dict[str, pulumi.Output[str]]
    # Pods get credentials only if their association exists when they start: charts whose
    # pods use a role depend on its association.
    associations: dict[str, pulumi.Resource]
    vault_key_arn: pulumi.Output[str]
    signing_key_arn: pulumi.Output[str]

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
        self.associations = {}
        workloads = dict(WORKLOADS)
        if args.dns_zone_id:
            workloads["cert-manager"] = accounts.CERT_MANAGER
        roles = {purpose: self._role(purpose, ref) for purpose, ref in workloads.items()}
        self.role_arns = {purpose: role.arn for purpose, role in roles.items()}
        vault_key = customer_key(
            f"{name}-vault-unseal",
            f"{args.prefix} Vault auto-unseal",
            args.tags,
            self._child,
            admins=args.key_admins,
        )
        # The key policy alone decides who signs: training signs, serving only verifies.
        model_key = signing_key(
            f"{name}-model-signing",
            f"{args.prefix} model manifest signatures",
            args.tags,
            self._child,
            admins=args.key_admins,
            signers=[roles["training"].arn],
            verifiers=[roles["serving"].arn],
        )
        self.vault_key_arn = vault_key.arn
        self.signing_key_arn = model_key.arn
        for purpose, policy in self._documents(vault_key.arn, model_key.arn).items():
            aws.iam.RolePolicy(
                f"{name}-{purpose}-policy",
                role=roles[purpose].id,
                policy=policy.apply(json.dumps),
                opts=pulumi.ResourceOptions(parent=roles[purpose]),
            )
        self.register_outputs({"role_arns": self.role_arns})

    def _documents(
        self, vault_key: pulumi.Output[str], model_key: pulumi.Output[str]
    ) -> dict[str, pulumi.Output[Any]]:
        args = self._args
        b, key, db = args.bucket_arns, args.storage_key_arn, args.database
        region, account = args.region, args.account_id
        documents = {
            "mlflow": pulumi.Output.all(b["mlflow-artifacts"], key, db.resource_id).apply(
                lambda a: iam.document(
                    *iam.bucket_write(a[0], a[1]),
                    iam.rds_connect(region, account, a[2], "mlflow"),
                )
            ),
            # The pipeline's work folders and dataset snapshots are prefixes of the datasets
            # bucket (infra/workloads/airflow_values.py sets them on the DAG).
            "training": pulumi.Output.all(
                b["datasets"], b["mlflow-artifacts"], key, model_key
            ).apply(
                lambda a: iam.document(
                    *iam.bucket_read(a[0], a[2]),
                    *iam.bucket_write(a[0], a[2], "training-work/*"),
                    *iam.bucket_write(a[0], a[2], "snapshots/*"),
                    *iam.bucket_write(a[1], a[2]),
                    iam.allow(["kms:GetPublicKey", "kms:Sign"], [a[3]]),
                )
            ),
            "serving": pulumi.Output.all(b["mlflow-artifacts"], key, model_key).apply(
                lambda a: iam.document(
                    *iam.bucket_read(a[0], a[1]),
                    iam.allow(["kms:GetPublicKey", "kms:Verify"], [a[2]]),
                )
            ),
            "velero": pulumi.Output.all(b["backups"], key).apply(
                lambda a: iam.velero(a[0], a[1], region, account)
            ),
            "vault": vault_key.apply(iam.kms_use),
            # Task logs go to their own prefix of the datasets bucket.
            "airflow": pulumi.Output.all(db.resource_id, b["datasets"], key).apply(
                lambda a: iam.document(
                    iam.rds_connect(region, account, a[0], "airflow"),
                    *iam.bucket_write(a[1], a[2], "airflow-logs/*"),
                )
            ),
            "db-bootstrap": pulumi.Output.all(db.secret_arn, db.key_arn).apply(
                lambda a: iam.secret_read(a[0], a[1])
            ),
            # Writes dumps under postgres/ of the backups bucket (never reads or deletes
            # them: Object Lock keeps them) and reads the registry database as mlflow.
            "db-backup": pulumi.Output.all(b["backups"], key, db.resource_id).apply(
                lambda a: iam.document(
                    iam.allow(["s3:PutObject"], [f"{a[0]}/postgres/*"]),
                    iam.allow(["kms:GenerateDataKey", "kms:Encrypt"], [a[1]]),
                    iam.rds_connect(region, account, a[2], "mlflow"),
                )
            ),
            # Only the monitoring user, whose one extra right in PostgreSQL is pg_monitor.
            "postgres-exporter": pulumi.Output.from_input(db.resource_id).apply(
                lambda rid: iam.document(iam.rds_connect(region, account, rid, MONITORING_USER))
            ),
        }
        if args.dns_zone_id:
            documents["cert-manager"] = pulumi.Output.from_input(
                iam.dns01_challenges(args.dns_zone_id)
            )
        return documents

    def _role(self, purpose: str, ref: ServiceAccountRef) -> aws.iam.Role:
        args = self._args
        trust = iam.pod_identity_trust(
            args.account_id, args.cluster_arn, ref.namespace, ref.service_account
        )
        role = aws.iam.Role(
            f"{self._name}-{purpose}",
            name=f"{args.prefix}-{purpose}",
            assume_role_policy=json.dumps(trust),
            permissions_boundary=args.boundary_arn,
            tags={**args.tags, "workload": purpose},
            opts=self._child,
        )
        self.associations[purpose] = aws.eks.PodIdentityAssociation(
            f"{self._name}-{purpose}-association",
            cluster_name=args.cluster_name,
            namespace=ref.namespace,
            service_account=ref.service_account,
            role_arn=role.arn,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role
