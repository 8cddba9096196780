"""Database: RDS PostgreSQL, private and encrypted, SSL forced through its parameter group."""

from __future__ import annotations

import re

import pytest

from infra.foundation.database import parameters
from infra.offline.mocks import auto_name
from infra.offline.plan import Resource
from infra.stack_file import STACKS


def physical_name(resource: Resource) -> str:
    """The name Pulumi generates for an auto-named RDS group: <logical name>-<7 hex>."""
    name = auto_name(resource.type, resource.name, resource.inputs)["name"]
    assert re.fullmatch(rf"{resource.name}-[0-9a-f]{{7}}", name)
    return name


def test_parameters_force_ssl_for_the_engine_family():
    params = parameters("17")
    assert params["family"] == "postgres17"
    assert {"name": "rds.force_ssl", "value": "1"} in params["parameters"]


def test_database_differs_by_environment(plans):
    dev = plans["dev"].one("aws:rds/instance:Instance").inputs
    prod = plans["prod"].one("aws:rds/instance:Instance").inputs
    assert (dev["multiAz"], prod["multiAz"]) == (False, True)
    assert (dev["deletionProtection"], prod["deletionProtection"]) == (False, True)
    assert (dev["backupRetentionPeriod"], prod["backupRetentionPeriod"]) == (3, 30)
    assert (dev["skipFinalSnapshot"], prod["skipFinalSnapshot"]) == (True, False)
    assert prod["finalSnapshotIdentifier"] == "mlsys-prod-postgres-final"
    assert "finalSnapshotIdentifier" not in dev


@pytest.mark.parametrize("stack", STACKS)
def test_database_is_private_encrypted_and_logged(plans, stack):
    rds = plans[stack].one("aws:rds/instance:Instance").inputs
    assert rds["storageEncrypted"] and rds["kmsKeyId"] and not rds["publiclyAccessible"]
    assert rds["performanceInsightsEnabled"] and rds["engineVersion"] == "17"
    assert rds["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert rds["port"] == 5432


@pytest.mark.parametrize("stack", STACKS)
def test_the_instance_uses_the_parameter_group_that_forces_ssl(plans, stack):
    """If the group were detached, RDS would fall back to its default, which allows plain TCP."""
    plan = plans[stack]
    rds = plan.one("aws:rds/instance:Instance").inputs
    group = plan.one("aws:rds/parameterGroup:ParameterGroup")
    assert rds["parameterGroupName"] == physical_name(group)
    assert {"name": "rds.force_ssl", "value": "1"} in group.inputs["parameters"]
    subnets = plan.one("aws:rds/subnetGroup:SubnetGroup")
    assert rds["dbSubnetGroupName"] == physical_name(subnets)
    database_subnets = {
        s.name
        for s in plan.of_type("aws:ec2/subnet:Subnet")
        if s.inputs["tags"]["tier"] == "database"
    }
    assert plan.dependency_names(subnets.name) >= database_subnets


def test_only_database_client_pods_reach_the_database(plans):
    """Not the cluster group every pod carries: the clients' group, given by SecurityGroupPolicy."""
    plan = plans["prod"]
    group = plan.named("mlsys-prod-db-sg")
    (ingress,) = group.inputs["ingress"]
    assert (ingress["fromPort"], ingress["toPort"]) == (5432, 5432)
    assert ingress["securityGroups"] == [plan.named("mlsys-prod-db-clients-sg").id]
    cluster_group = plan.one("aws:eks/cluster:Cluster").outputs["vpcConfig"][
        "clusterSecurityGroupId"
    ]
    assert cluster_group not in ingress["securityGroups"] and "cidrBlocks" not in ingress
    assert not group.inputs["egress"]


@pytest.mark.parametrize(("stack", "final"), [("dev", False), ("staging", True), ("prod", True)])
def test_monitoring_and_final_snapshots(plans, stack, final):
    rds = plans[stack].one("aws:rds/instance:Instance").inputs
    assert rds["monitoringInterval"] == 60 and rds["monitoringRoleArn"]
    assert rds["skipFinalSnapshot"] is not final
    assert rds["iamDatabaseAuthenticationEnabled"] is True  # the app users sign in with IAM


@pytest.mark.parametrize("stack", STACKS)
def test_backups_replicate_to_the_dr_region_in_prod_only(plans, stack):
    plan = plans[stack]
    replications = plan.of_type(
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
    )
    if stack != "prod":
        assert replications == []
        return
    (replication,) = replications
    assert replication.inputs["region"] == "eu-central-1"
    assert replication.inputs["retentionPeriod"] == 30
    assert replication.inputs["kmsKeyId"].startswith("arn:aws:kms:eu-central-1:")
    assert replication.inputs["sourceDbInstanceArn"].endswith(":db:mlsys-prod-postgres")
