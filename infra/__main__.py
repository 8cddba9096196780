"""Pulumi entry point: read the typed stack config, wire the layers, export the outputs."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.config import read_pulumi_config
from infra.foundation.ci_identity import CiIdentity, CiIdentityArgs
from infra.foundation.cluster import Cluster, ClusterArgs
from infra.foundation.database import DATABASES, Database, DatabaseArgs
from infra.foundation.image_repositories import ImageRepositories, ImageRepositoriesArgs
from infra.foundation.network import Network, NetworkArgs
from infra.foundation.object_storage import ObjectStorage, ObjectStorageArgs
from infra.foundation.workload_identity import WorkloadIdentities, WorkloadIdentitiesArgs
from infra.platform.database_bootstrap import DatabaseBootstrap, DatabaseBootstrapArgs

config = read_pulumi_config()
prefix, tags = config.prefix, config.tags
account_id = aws.get_caller_identity().account_id
zones = tuple(aws.get_availability_zones(state="available").names[:3])

# Layer 1: the AWS foundation.
network = Network(
    f"{prefix}-network",
    NetworkArgs(
        cidr=config.vpc_cidr,
        availability_zones=zones,
        region=config.region,
        nat_per_az=config.nat_per_az,
        interface_endpoints=config.interface_endpoints,
        cluster_name=prefix,
        tags=tags,
    ),
)
ci = CiIdentity(
    f"{prefix}-ci",
    CiIdentityArgs(
        prefix=prefix,
        account_id=account_id,
        repository=config.github_repository,
        environment=config.environment,
        existing_provider_arn=config.github_oidc_provider_arn,
        tags=tags,
    ),
)
cluster = Cluster(
    f"{prefix}-cluster",
    ClusterArgs(
        cluster_name=prefix,
        version=config.cluster_version,
        region=config.region,
        private_subnet_ids=network.private_subnet_ids,
        api_allowed_cidrs=config.cluster_api_cidrs,
        admin_role_arn=config.admin_role_arn,
        deploy_role_arns=[ci.deploy_role_arn],
        system_nodes=config.system_nodes,
        workload_nodes=config.workload_nodes,
        tags=tags,
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
        tags=tags,
    ),
)
database = Database(
    f"{prefix}-db",
    DatabaseArgs(
        identifier=f"{prefix}-postgres",
        vpc_id=network.vpc_id,
        subnet_ids=network.database_subnet_ids,
        client_security_group_id=cluster.node_security_group_id,
        instance_class=config.db_instance_class,
        engine_major=config.db_engine_major,
        allocated_storage_gb=config.db_allocated_storage_gb,
        multi_az=config.db_multi_az,
        deletion_protection=config.db_deletion_protection,
        backup_retention_days=config.db_backup_retention_days,
        final_snapshot=config.final_snapshot,
        tags=tags,
    ),
)
# "-ecr" is the name deployed stacks know; renaming it would replace the repositories.
images = ImageRepositories(f"{prefix}-ecr", ImageRepositoriesArgs(prefix=prefix, tags=tags))
identities = WorkloadIdentities(
    f"{prefix}-identity",
    WorkloadIdentitiesArgs(
        prefix=prefix,
        cluster_name=cluster.name,
        region=config.region,
        account_id=account_id,
        bucket_arns=dict(storage.bucket_arns),
        storage_key_arn=storage.key_arn,
        tags=tags,
    ),
)

# Layer 2: the platform services on the cluster.
DatabaseBootstrap(
    f"{prefix}-db-bootstrap",
    DatabaseBootstrapArgs(
        host=database.address,
        port=database.port,
        admin_user=database.admin_user,
        admin_password=database.admin_password,
        engine_major=config.db_engine_major,
        databases=DATABASES,
        server=database.instance,
        k8s_provider=cluster.provider,
        former_parent=f"{prefix}-db",
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
