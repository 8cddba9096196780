"""Database: private, encrypted RDS PostgreSQL; SSL forced, password managed and rotated by RDS."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.foundation.iam_documents import service_trust
from infra.foundation.kms import KeyAdmins, customer_key
from infra.renames import with_former_type

ADMIN_USER = "mlsys_admin"
# The instance is created with the first; DatabaseBootstrap creates the others on the cluster,
# each owned by the application user of the same name (IAM authentication, no password).
DATABASES = ("mlflow", "airflow")
# A login role with pg_monitor and no database of its own: postgres-exporter signs in as it.
MONITORING_USER = "monitoring"
PORT = 5432
MONITORING_INTERVAL_SECONDS = 60


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    identifier: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    instance_class: str
    engine_major: str
    allocated_storage_gb: int
    multi_az: bool
    deletion_protection: bool
    backup_retention_days: int
    final_snapshot: bool
    dr_region: str | None  # automated backups replicate there, encrypted with a key there
    key_admins: KeyAdmins
    boundary_arn: pulumi.Input[str]
    tags: dict[str, str]


def parameters(engine_major: str) -> dict[str, Any]:
    """Parameter group settings: clients must use TLS; slow and connection events are logged."""
    return {
        "family": f"postgres{engine_major}",
        "parameters": [
            {"name": "rds.force_ssl", "value": "1"},
            {"name": "log_connections", "value": "1"},
            {"name": "log_min_duration_statement", "value": "1000"},
        ],
    }


class Database(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    address: pulumi.Output[str]
    port: int
    admin_user: str
    secret_arn: pulumi.Output[str]  # the master secret RDS keeps in Secrets Manager
    key_arn: pulumi.Output[str]
    resource_id: pulumi.Output[str]  # what rds-db:connect ARNs name
    clients_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(
            "mlsys:foundation:Database",
            name,
            None,
            with_former_type("mlsys:database:Database", opts),
        )
        self._name, self._args = name, args
        self._child = child = pulumi.ResourceOptions(parent=self)
        key = customer_key(
            f"{name}-key",
            f"{args.identifier} storage and secret",
            args.tags,
            child,
            admins=args.key_admins,
        )
        # Pods get this group through a SecurityGroupPolicy (security groups for pods); the
        # database admits it alone, not the cluster group every pod and node carries.
        clients = aws.ec2.SecurityGroup(
            f"{name}-clients-sg",
            vpc_id=args.vpc_id,
            description="Pods allowed to reach PostgreSQL (security groups for pods)",
            # A marker group: the pods' other group (the cluster's) carries their traffic rules.
            egress=[],
            tags=args.tags,
            opts=child,
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="PostgreSQL from database client pods only",
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": PORT,
                    "to_port": PORT,
                    "security_groups": [clients.id],
                    "description": "PostgreSQL from database client pods",
                }
            ],
            egress=[],
            tags=args.tags,
            opts=child,
        )
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=list(args.subnet_ids), tags=args.tags, opts=child
        )
        params = parameters(args.engine_major)
        parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            family=params["family"],
            parameters=params["parameters"],
            tags=args.tags,
            opts=child,
        )
        self.instance = aws.rds.Instance(
            f"{name}-postgres",
            identifier=args.identifier,
            engine="postgres",
            engine_version=args.engine_major,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.allocated_storage_gb * 4,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            db_name=DATABASES[0],
            username=ADMIN_USER,
            # RDS generates the password into Secrets Manager under our key and rotates it;
            # it is never in Pulumi state, config or a Kubernetes Secret.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key.arn,
            port=PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            parameter_group_name=parameter_group.name,
            publicly_accessible=False,
            multi_az=args.multi_az,
            deletion_protection=args.deletion_protection,
            backup_retention_period=args.backup_retention_days,
            backup_window="02:00-03:00",
            maintenance_window="sun:03:30-sun:04:30",
            copy_tags_to_snapshot=True,
            skip_final_snapshot=not args.final_snapshot,
            final_snapshot_identifier=f"{args.identifier}-final" if args.final_snapshot else None,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key.arn,
            performance_insights_retention_period=7,
            monitoring_interval=MONITORING_INTERVAL_SECONDS,
            monitoring_role_arn=self._monitoring_role().arn,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            iam_database_authentication_enabled=True,
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            tags=args.tags,
            opts=child,
        )
        if args.dr_region:
            self._replicate_backups(args.dr_region)
        self.endpoint = self.instance.endpoint
        self.address = self.instance.address
        self.port = PORT
        self.admin_user = ADMIN_USER
        self.secret_arn = self.instance.master_user_secrets.apply(lambda s: str(s[0].secret_arn))
        self.key_arn = key.arn
        self.resource_id = self.instance.resource_id
        self.clients_security_group_id = clients.id
        self.register_outputs({"endpoint": self.endpoint, "secret_arn": self.secret_arn})

    def _monitoring_role(self) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{self._name}-monitoring-role",
            assume_role_policy=json.dumps(service_trust("monitoring.rds.amazonaws.com")),
            permissions_boundary=self._args.boundary_arn,
            tags=self._args.tags,
            opts=self._child,
        )
        aws.iam.RolePolicyAttachment(
            f"{self._name}-monitoring",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role

    def _replicate_backups(self, dr_region: str) -> None:
        """Snapshots and transaction logs copied to the DR region: restorable if ours is lost."""
        dr_key = customer_key(
            f"{self._name}-dr-key",
            f"{self._args.identifier} backups in the DR region",
            self._args.tags,
            self._child,
            admins=self._args.key_admins,
            region=dr_region,
        )
        aws.rds.InstanceAutomatedBackupsReplication(
            f"{self._name}-backups-dr",
            source_db_instance_arn=self.instance.arn,
            kms_key_id=dr_key.arn,
            retention_period=self._args.backup_retention_days,
            region=dr_region,
            opts=pulumi.ResourceOptions(parent=self.instance),
        )
