"""Pulumi entry point: read the typed stack config, wire the layers, export the outputs."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.config import ConfigError, read_pulumi_config
from infra.foundation.ci_identity import CiIdentity, CiIdentityArgs
from infra.foundation.cluster import Cluster, ClusterArgs
from infra.foundation.database import DATABASES, Database, DatabaseArgs
from infra.foundation.deploy_permissions import DeployScope
from infra.foundation.image_repositories import ImageRepositories, ImageRepositoriesArgs
from infra.foundation.karpenter import KarpenterFoundation, KarpenterFoundationArgs
from infra.foundation.kms import KeyAdmins
from infra.foundation.network import Network, NetworkArgs
from infra.foundation.object_storage import ObjectStorage, ObjectStorageArgs
from infra.foundation.workload_identity import (
    DatabaseAccess,
    WorkloadIdentities,
    WorkloadIdentitiesArgs,
)
from infra.platform.database_bootstrap import DatabaseBootstrap, DatabaseBootstrapArgs
from infra.platform.gateway import EdgeGateway, EdgeGatewayArgs
from infra.platform.karpenter import Karpenter, KarpenterArgs, default_classes
from infra.platform.logging import Logging, LoggingArgs
from infra.platform.monitoring import Monitoring, MonitoringArgs
from infra.platform.monitoring.postgres_exporter import PostgresExporter, PostgresExporterArgs
from infra.platform.monitoring.rules import RuleParams, runbook_base
from infra.platform.namespaces import Namespaces, NamespacesArgs
from infra.platform.operations import ClusterOperations, ClusterOperationsArgs
from infra.platform.operations.db_backup import DatabaseBackupArgs
from infra.platform.vault import Vault, VaultArgs
from infra.platform.vault.values import ACTIVE_ADDRESS as VAULT_ADDRESS
from infra.workloads.airflow import Airflow, AirflowArgs
from infra.workloads.mlflow import Mlflow, MlflowArgs
from infra.workloads.prediction_api import PredictionApi, PredictionApiArgs

config = read_pulumi_config()
prefix, tags = config.prefix, config.tags
account_id = aws.get_caller_identity().account_id
if account_id != config.account_id:
    # One account per environment: dev's credentials must never deploy prod, nor the reverse.
    raise ConfigError(
        f"mlsys:accountId is {config.account_id} but the AWS credentials are for {account_id}"
    )
zones = tuple(aws.get_availability_zones(state="available").names[:3])
cluster_arn = f"arn:aws:eks:{config.region}:{account_id}:cluster/{prefix}"

# Layer 1: the AWS foundation. The CI identity first: its boundary caps every other role.
ci = CiIdentity(
    f"{prefix}-ci",
    CiIdentityArgs(
        scope=DeployScope(
            account_id=account_id,
            region=config.region,
            dr_region=config.dr_region,
            prefix=prefix,
            environment=config.environment,
        ),
        repository=config.github_repository,
        existing_provider_arn=config.github_oidc_provider_arn,
        tags=tags,
    ),
)
key_admins = KeyAdmins(
    account_id=account_id,
    admin_role_arn=config.admin_role_arn,
    deploy_role_arn=ci.deploy_role_arn,
)
network = Network(
    f"{prefix}-network",
    NetworkArgs(
        cidr=config.vpc_cidr,
        availability_zones=zones,
        region=config.region,
        nat_per_az=config.nat_per_az,
        interface_endpoints=config.interface_endpoints,
        cluster_name=prefix,
        key_admins=key_admins,
        boundary_arn=ci.boundary_arn,
        tags=tags,
        flow_log_retention_days=config.log_retention_days,
    ),
)
cluster = Cluster(
    f"{prefix}-cluster",
    ClusterArgs(
        cluster_name=prefix,
        version=config.cluster_version,
        region=config.region,
        account_id=account_id,
        private_subnet_ids=network.private_subnet_ids,
        api_allowed_cidrs=config.cluster_api_cidrs,
        admin_role_arn=config.admin_role_arn,
        deploy_role_arns=[ci.deploy_role_arn],
        viewer_role_arns=[ci.preview_role_arn],
        system_nodes=config.system_nodes,
        workload_nodes=config.workload_nodes,
        boundary_arn=ci.boundary_arn,
        key_admins=key_admins,
        tags=tags,
        log_retention_days=config.log_retention_days,
    ),
)
storage = ObjectStorage(
    f"{prefix}-storage",
    ObjectStorageArgs(
        prefix=prefix,
        account_id=account_id,
        region=config.region,
        dr_region=config.dr_region,
        noncurrent_version_days=config.noncurrent_version_retention_days,
        backup_lock_days=config.backup_lock_days,
        dump_retention_days=config.platform.backup_retention_days,
        key_admins=key_admins,
        boundary_arn=ci.boundary_arn,
        tags=tags,
    ),
)
database = Database(
    f"{prefix}-db",
    DatabaseArgs(
        identifier=f"{prefix}-postgres",
        vpc_id=network.vpc_id,
        subnet_ids=network.database_subnet_ids,
        instance_class=config.db_instance_class,
        engine_major=config.db_engine_major,
        allocated_storage_gb=config.db_allocated_storage_gb,
        multi_az=config.db_multi_az,
        deletion_protection=config.db_deletion_protection,
        backup_retention_days=config.db_backup_retention_days,
        final_snapshot=config.final_snapshot,
        dr_region=config.dr_region,
        key_admins=key_admins,
        boundary_arn=ci.boundary_arn,
        tags=tags,
    ),
)
# "-ecr" is the name deployed stacks know; renaming it would replace the repositories.
images = ImageRepositories(
    f"{prefix}-ecr",
    ImageRepositoriesArgs(
        prefix=prefix,
        account_id=account_id,
        dr_region=config.dr_region,
        key_admins=key_admins,
        tags=tags,
        pull_account_ids=config.image_pull_account_ids,
    ),
)
identities = WorkloadIdentities(
    f"{prefix}-identity",
    WorkloadIdentitiesArgs(
        prefix=prefix,
        cluster_name=cluster.name,
        cluster_arn=cluster_arn,
        region=config.region,
        account_id=account_id,
        bucket_arns=dict(storage.bucket_arns),
        storage_key_arn=storage.key_arn,
        database=DatabaseAccess(
            resource_id=database.resource_id,
            secret_arn=database.secret_arn,
            key_arn=database.key_arn,
        ),
        key_admins=key_admins,
        boundary_arn=ci.boundary_arn,
        tags=tags,
        dns_zone_id=config.platform.hosted_zone_id,
    ),
)
karpenter_aws = KarpenterFoundation(
    f"{prefix}-karpenter",
    KarpenterFoundationArgs(
        prefix=prefix,
        cluster_name=cluster.name,
        cluster_arn=cluster_arn,
        region=config.region,
        account_id=account_id,
        node_role_arn=cluster.node_role.arn,
        boundary_arn=ci.boundary_arn,
        tags=tags,
    ),
)

# Layer 2: the platform services on the cluster.
db_bootstrap = DatabaseBootstrap(
    f"{prefix}-db-bootstrap",
    DatabaseBootstrapArgs(
        host=database.address,
        port=database.port,
        region=config.region,
        admin_user=database.admin_user,
        admin_secret_arn=database.secret_arn,
        databases=DATABASES,
        db_client_image=config.db_client_image,
        aws_cli_image=config.aws_cli_image,
        # The clients' group admits the pod to the database; the cluster's keeps DNS and
        # the rest of its traffic working as for any other pod.
        security_group_ids=[database.clients_security_group_id, cluster.node_security_group_id],
        server=database.instance,
        k8s_provider=cluster.provider,
        former_parent=f"{prefix}-db",
    ),
)

platform = config.platform
namespaces = Namespaces(f"{prefix}-namespaces", NamespacesArgs(k8s_provider=cluster.provider))
edge = EdgeGateway(
    f"{prefix}-edge",
    EdgeGatewayArgs(
        hosts=platform.hosts,
        acme_issuer=platform.acme_issuer,
        acme_email=config.letsencrypt_email,
        gateway_replicas=platform.gateway_replicas,
        controller_replicas=2 if config.is_prod else 1,
        api_rate_limit_per_second=platform.api_rate_limit_per_second,
        api_rate_limit_burst=platform.api_rate_limit_burst,
        namespaces=namespaces.namespaces,
        k8s_provider=cluster.provider,
        dns01=(config.region, platform.hosted_zone_id) if platform.hosted_zone_id else None,
        dns01_identity=identities.associations.get("cert-manager"),
    ),
)
vault = Vault(
    f"{prefix}-vault",
    VaultArgs(
        replicas=platform.vault_replicas,
        volume_gb=platform.vault_volume_gb,
        operator_replicas=platform.operator_replicas,
        region=config.region,
        kms_key_arn=identities.vault_key_arn,
        identity=identities.associations["vault"],
        configure_image=platform.vault_image,
        cert_manager=edge.cert_manager,
        namespaces=namespaces.namespaces,
        k8s_provider=cluster.provider,
    ),
)
ClusterOperations(
    f"{prefix}-operations",
    ClusterOperationsArgs(
        metrics_server_replicas=platform.metrics_server_replicas,
        backups_bucket=storage.bucket_names["backups"],
        region=config.region,
        backup_retention_days=platform.backup_retention_days,
        velero_identity=identities.associations["velero"],
        namespaces=namespaces.namespaces,
        database_backup=DatabaseBackupArgs(
            databases=("mlflow",),
            db_user="mlflow",
            host=database.address,
            port=database.port,
            bucket=storage.bucket_names["backups"],
            kms_key_id=storage.key_arn,
            db_client_image=config.db_client_image,
            aws_cli_image=config.aws_cli_image,
            identity=identities.associations["db-backup"],
            namespace_ready=db_bootstrap,
        ),
        k8s_provider=cluster.provider,
    ),
)
Karpenter(
    f"{prefix}-karpenter-nodes",
    KarpenterArgs(
        cluster_name=cluster.name,
        queue_name=karpenter_aws.queue_name,
        node_role_name=cluster.node_role.name,
        node_security_group_id=cluster.node_security_group_id,
        identity=karpenter_aws.association,
        classes=default_classes(is_prod=config.is_prod),
        replicas=2 if config.is_prod else 1,
        k8s_provider=cluster.provider,
        tags=tags,
    ),
)
Logging(
    f"{prefix}-logging",
    LoggingArgs(
        elasticsearch_nodes=platform.elasticsearch_nodes,
        elasticsearch_volume_gb=platform.elasticsearch_volume_gb,
        kibana_replicas=platform.kibana_replicas,
        operator_replicas=1,
        retention_days=platform.log_index_retention_days,
        kibana_host=platform.hosts["kibana"],
        # The AWS CLI image has sh and curl, and is already pinned by digest.
        job_image=config.aws_cli_image,
        namespace=namespaces.namespaces["logging"],
        gateway=edge.gateway,
        k8s_provider=cluster.provider,
    ),
)
monitoring = Monitoring(
    f"{prefix}-monitoring",
    MonitoringArgs(
        platform=platform,
        rule_params=RuleParams(
            latency_bound_seconds=platform.api_latency_p99_seconds,
            drift_psi_threshold=platform.drift_psi_threshold,
            training_stale_days=platform.training_stale_days,
            runbook_base=runbook_base(config.github_repository),
        ),
        namespace=namespaces.namespaces["monitoring"],
        gateway=edge.gateway,
        k8s_provider=cluster.provider,
    ),
)
PostgresExporter(
    f"{prefix}-postgres-exporter",
    PostgresExporterArgs(
        host=database.address,
        port=database.port,
        region=config.region,
        aws_cli_image=config.aws_cli_image,
        security_group_ids=[database.clients_security_group_id, cluster.node_security_group_id],
        identity=identities.associations["postgres-exporter"],
        monitoring=monitoring,
        database=db_bootstrap,
        namespace=namespaces.namespaces["monitoring"],
        k8s_provider=cluster.provider,
    ),
)

# Layer 3: the ML workloads.
workloads = config.workloads
# Pods in the database's namespaces get the clients' group (RDS admits it) and the cluster's.
database_client_groups = [database.clients_security_group_id, cluster.node_security_group_id]
mlflow = Mlflow(
    f"{prefix}-mlflow",
    MlflowArgs(
        # The training image carries mlflow[auth] and the PostgreSQL driver: CI builds and
        # scans it, CD pins its digest, so the server needs no image of its own.
        image=workloads.training_image,
        aws_cli_image=config.aws_cli_image,
        region=config.region,
        host=platform.hosts["mlflow"],
        vpc_cidr=config.vpc_cidr,
        replicas=workloads.mlflow_replicas,
        artifacts_bucket=storage.bucket_names["mlflow-artifacts"],
        security_group_ids=database_client_groups,
        namespace=namespaces.namespaces["mlflow"],
        identity=identities.associations["mlflow"],
        database=db_bootstrap,
        vault=vault,
        gateway=edge.gateway,
        monitoring=monitoring,
        k8s_provider=cluster.provider,
    ),
)
airflow = Airflow(
    f"{prefix}-airflow",
    AirflowArgs(
        image=workloads.airflow_image,
        training_image=workloads.training_image,
        aws_cli_image=config.aws_cli_image,
        region=config.region,
        host=platform.hosts["airflow"],
        schedule=workloads.training_schedule,
        replicas=workloads.airflow_replicas,
        datasets_bucket=storage.bucket_names["datasets"],
        signing_key_arn=identities.signing_key_arn,
        security_group_ids=database_client_groups,
        namespace=namespaces.namespaces["airflow"],
        identities=[identities.associations["airflow"], identities.associations["training"]],
        database=db_bootstrap,
        mlflow=mlflow.server,
        vault=vault,
        gateway=edge.gateway,
        monitoring=monitoring,
        k8s_provider=cluster.provider,
    ),
)
prediction_api = PredictionApi(
    f"{prefix}-prediction-api",
    PredictionApiArgs(
        workloads=workloads,
        region=config.region,
        host=platform.hosts["api"],
        aws_cli_image=config.aws_cli_image,
        signing_key_arn=identities.signing_key_arn,
        namespace=namespaces.namespaces["serving"],
        identity=identities.associations["serving"],
        vault=vault,
        gateway=edge.gateway,
        monitoring=monitoring,
        k8s_provider=cluster.provider,
    ),
)

# The stack outputs are a contract with other teams: see docs/outputs.md before changing.
pulumi.export("environment", config.environment)
pulumi.export("region", config.region)
pulumi.export("clusterName", cluster.name)
pulumi.export("clusterEndpoint", cluster.endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("publicSubnetIds", network.public_subnet_ids)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("databaseSubnetIds", network.database_subnet_ids)
pulumi.export("mlflowArtifactsBucket", storage.bucket_names["mlflow-artifacts"])
pulumi.export("datasetsBucket", storage.bucket_names["datasets"])
pulumi.export("backupsBucket", storage.bucket_names["backups"])
pulumi.export("databaseEndpoint", database.endpoint)
pulumi.export("databaseSecretArn", database.secret_arn)
pulumi.export("appRepositoryUrl", images.repository_urls["app"])
pulumi.export("trainingRepositoryUrl", images.repository_urls["training"])
pulumi.export("podIdentityRoleArns", identities.role_arns)
pulumi.export("vaultUnsealKeyArn", identities.vault_key_arn)
pulumi.export("ciDeployRoleArn", ci.deploy_role_arn)
pulumi.export("ciPreviewRoleArn", ci.preview_role_arn)
pulumi.export("modelSigningKeyArn", identities.signing_key_arn)
pulumi.export("publicHosts", platform.hosts)
pulumi.export("vaultAddress", VAULT_ADDRESS)
pulumi.export("apiUrl", prediction_api.url)
pulumi.export("mlflowUrl", mlflow.url)
pulumi.export("airflowUrl", airflow.url)
pulumi.export("grafanaUrl", f"https://{platform.hosts['grafana']}")
