"""Cluster: API access entries, KMS secrets, logs, AL2023 nodes sized by config, gp3 default."""

from __future__ import annotations

import json

import pytest

from infra.foundation.cluster import gp3_storage_class
from infra.foundation.cluster_access import access_grants
from infra.stack_file import STACKS, read_stack_file


def test_cluster_access_encryption_and_logs(plans):
    plan = plans["prod"]
    cluster = plan.one("aws:eks/cluster:Cluster")
    assert cluster.inputs["version"] == "1.35"
    assert cluster.inputs["accessConfig"]["authenticationMode"] == "API"
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert set(cluster.inputs["enabledClusterLogTypes"]) == {
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    }
    principals = {e.inputs["principalArn"] for e in plan.of_type("aws:eks/accessEntry:AccessEntry")}
    assert principals == {
        "arn:aws:iam::777788889999:role/platform-admin",
        "arn:aws:iam::777788889999:role/mlsys-prod-github-deploy",
        "arn:aws:iam::777788889999:role/mlsys-prod-github-preview",
    }
    logs = plan.named("mlsys-prod-cluster-control-plane-logs")
    assert logs.inputs["name"] == "/aws/eks/mlsys-prod/cluster"
    assert logs.inputs["kmsKeyId"] and logs.inputs["retentionInDays"] == 365
    assert logs.name in plan.dependency_names("mlsys-prod-cluster-eks")


@pytest.mark.parametrize(
    ("stack", "public", "cidrs"),
    [
        ("dev", True, ["203.0.113.0/24"]),
        ("staging", True, ["192.0.2.0/24", "198.51.100.0/24"]),
        ("prod", False, None),
    ],
)
def test_the_api_endpoint_is_private_or_held_to_listed_ranges(plans, stack, public, cidrs):
    vpc = plans[stack].one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is public
    assert vpc.get("publicAccessCidrs") == cidrs


def test_the_kubernetes_provider_waits_for_the_access_entries(plans):
    plan = plans["prod"]
    waits_for = plan.dependency_names("mlsys-prod-cluster-k8s")
    assert {
        "mlsys-prod-cluster-access-admin",
        "mlsys-prod-cluster-access-admin-admin",
        "mlsys-prod-cluster-access-deploy-0",
        "mlsys-prod-cluster-access-deploy-0-admin",
    } <= waits_for


def test_every_cluster_admin_grant_says_why():
    for grant in access_grants("arn:aws:iam::1:role/a", ["arn:aws:iam::1:role/d"]):
        assert grant.policy_arn.endswith("AmazonEKSClusterAdminPolicy") and len(grant.reason) > 20


def test_nodes_are_al2023_with_imdsv2_and_encrypted_volumes(plans):
    plan = plans["prod"]
    groups = plan.of_type("aws:eks/nodeGroup:NodeGroup")
    assert {g.inputs["labels"]["mlsys.io/node-role"] for g in groups} == {"system", "workload"}
    assert all(g.inputs["amiType"] == "AL2023_x86_64_STANDARD" for g in groups)
    for template in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        assert template.inputs["metadataOptions"]["httpTokens"] == "required"
        assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
        assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"


@pytest.mark.parametrize("stack", STACKS)
def test_node_sizes_follow_the_stack_config(plans, stack):
    config = read_stack_file(stack)
    for group in plans[stack].of_type("aws:eks/nodeGroup:NodeGroup"):
        role = group.inputs["labels"]["mlsys.io/node-role"]
        assert group.inputs["scalingConfig"] == {
            "minSize": int(config[f"mlsys:{role}NodeMin"]),
            "desiredSize": int(config[f"mlsys:{role}NodeDesired"]),
            "maxSize": int(config[f"mlsys:{role}NodeMax"]),
        }
        assert group.inputs["instanceTypes"] == json.loads(config[f"mlsys:{role}NodeInstanceTypes"])


def test_default_storage_class_is_encrypted_gp3(plans):
    storage_class = plans["prod"].one("kubernetes:storage.k8s.io/v1:StorageClass")
    expected = gp3_storage_class()
    assert storage_class.inputs["parameters"] == {
        "type": "gp3",
        "encrypted": "true",
        "fsType": "ext4",
    }
    assert storage_class.inputs["metadata"] == expected["metadata"]
    assert storage_class.inputs["volumeBindingMode"] == "WaitForFirstConsumer"
