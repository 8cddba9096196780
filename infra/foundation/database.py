"""Database: private, encrypted RDS PostgreSQL with SSL forced and a generated password."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra.foundation.kms import customer_key
from infra.renames import with_former_type

ADMIN_USER = "mlsys_admin"
# The instance is created with the first; DatabaseBootstrap creates the others on the cluster.
DATABASES = ("mlflow", "airflow")
PORT = 5432


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    identifier: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    client_security_group_id: pulumi.Input[str]
    instance_class: str
    engine_major: str
    allocated_storage_gb: int
    multi_az: bool
    deletion_protection: bool
    backup_retention_days: int
    final_snapshot: bool
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
    admin_password: pulumi.Output[str]  # a secret: for DatabaseBootstrap, never exported
    secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(
            "mlsys:foundation:Database",
            name,
            None,
            with_former_type("mlsys:database:Database", opts),
        )
        child = pulumi.ResourceOptions(parent=self)
        key = customer_key(
            f"{name}-key",
            f"{args.identifier} storage and secret",
            args.tags,
            child,
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="PostgreSQL from the EKS nodes only",
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": PORT,
                    "to_port": PORT,
                    "security_groups": [args.client_security_group_id],
                    "description": "PostgreSQL from cluster nodes",
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
        # Generated here, stored encrypted in state and in Secrets Manager; never in config.
        password = random.RandomPassword(
            f"{name}-password",
            length=40,
            special=True,
            override_special="!#$%^&*()-_=+[]{}<>:?",
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
            password=password.result,
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
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            iam_database_authentication_enabled=True,
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            tags=args.tags,
            opts=child,
        )
        connection = pulumi.Output.json_dumps(
            {
                "engine": "postgres",
                "host": self.instance.address,
                "port": PORT,
                "username": ADMIN_USER,
                "password": password.result,
                "dbname": DATABASES[0],
            }
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-admin-secret",
            name_prefix=f"{args.identifier}-admin-",
            kms_key_id=key.arn,
            description="RDS master credentials",
            recovery_window_in_days=7,
            tags=args.tags,
            opts=child,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-admin-secret-value",
            secret_id=secret.id,
            secret_string=connection,  # secret already: it holds the password
            opts=pulumi.ResourceOptions(parent=secret),
        )
        self.endpoint = self.instance.endpoint
        self.address = self.instance.address
        self.port = PORT
        self.admin_user = ADMIN_USER
        self.admin_password = password.result
        self.secret_arn = secret.arn
        self.register_outputs({"endpoint": self.endpoint, "secret_arn": self.secret_arn})
