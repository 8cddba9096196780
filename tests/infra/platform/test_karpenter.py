"""Karpenter: the controller's scoped policy, its queue, and the NodePools per workload class."""

from __future__ import annotations

import json

from infra.foundation.karpenter import (
    EVENTS,
    KARPENTER,
    NODEPOOL_TAG,
    build_controller_policy,
    build_queue_policy,
)
from infra.platform.charts import CHARTS
from infra.platform.karpenter import (
    SYSTEM_NODES,
    TRAINING_TAINT,
    build_karpenter_values,
    build_node_class,
    build_node_pool,
    default_classes,
)

NODE_ROLE = "arn:aws:iam::111122223333:role/mlsys-dev-node"
QUEUE = "arn:aws:sqs:eu-west-1:111122223333:mlsys-dev-karpenter"
POLICY = build_controller_policy(
    cluster="mlsys-dev",
    region="eu-west-1",
    account="111122223333",
    node_role_arn=NODE_ROLE,
    queue_arn=QUEUE,
)
BY_SID = {s["Sid"]: s for s in POLICY["Statement"]}


def test_the_controller_passes_only_the_node_role_and_only_to_ec2():
    passing = [s for s in POLICY["Statement"] if "iam:PassRole" in s["Action"]]
    assert passing == [BY_SID["AllowPassingInstanceRole"]]
    assert passing[0]["Resource"] == [NODE_ROLE]
    assert passing[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}


def test_launching_tagging_and_terminating_need_this_clusters_tags():
    owned = "aws:{}/kubernetes.io/cluster/mlsys-dev"
    for sid in ("AllowScopedEC2InstanceActionsWithTags", "AllowScopedResourceCreationTagging"):
        condition = BY_SID[sid]["Condition"]
        assert condition["StringEquals"][owned.format("RequestTag")] == "owned"
        assert condition["StringLike"] == {f"aws:RequestTag/{NODEPOOL_TAG}": "*"}
    for sid in ("AllowScopedDeletion", "AllowScopedResourceTagging"):
        condition = BY_SID[sid]["Condition"]
        assert condition["StringEquals"][owned.format("ResourceTag")] == "owned"
        assert condition["StringLike"] == {f"aws:ResourceTag/{NODEPOOL_TAG}": "*"}
    for sid in ("AllowScopedInstanceProfileCreationActions", "AllowScopedInstanceProfileActions"):
        assert BY_SID[sid]["Resource"] == ["arn:aws:iam::111122223333:instance-profile/*"]


def test_unscoped_resources_are_reads_only_and_the_queue_is_this_stacks():
    for statement in POLICY["Statement"]:
        if statement["Resource"] == ["*"]:
            assert all(
                a.split(":")[1].startswith(("Describe", "Get", "List")) for a in statement["Action"]
            ), statement["Sid"]
    assert BY_SID["AllowInterruptionQueueActions"]["Resource"] == [QUEUE]
    assert not any(a.endswith(":*") for s in POLICY["Statement"] for a in s["Action"])


def test_only_eventbridge_and_sqs_may_send_and_never_without_tls():
    allow, deny = build_queue_policy(QUEUE)["Statement"]
    assert allow["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    assert allow["Action"] == "sqs:SendMessage" and allow["Resource"] == QUEUE
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    assert {p["detail-type"][0] for p in EVENTS.values()} == {
        "AWS Health Event",
        "EC2 Spot Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
    }
    json.dumps(EVENTS)


def test_the_controller_runs_on_the_system_nodes_with_its_queue():
    values = build_karpenter_values(cluster_name="mlsys-dev", queue_name="q", replicas=2)
    assert values["settings"] == {"clusterName": "mlsys-dev", "interruptionQueue": "q"}
    assert values["nodeSelector"].items() >= SYSTEM_NODES.items()
    assert values["serviceAccount"]["name"] == KARPENTER.service_account
    assert CHARTS["karpenter"].repository == "oci://public.ecr.aws/karpenter"


def test_node_classes_use_imdsv2_one_hop_encrypted_gp3_and_the_al2023_alias():
    general = default_classes(is_prod=False)[0]
    spec = build_node_class(
        general,
        cluster_name="mlsys-dev",
        node_role="mlsys-dev-node",
        security_group_id="sg-1",
        tags={"environment": "dev"},
    )["spec"]
    assert spec["tags"] == {"environment": "dev", "mlsys.io/workload-class": "general"}
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (root,) = spec["blockDeviceMappings"]
    assert root["ebs"]["encrypted"] is True and root["ebs"]["volumeType"] == "gp3"
    assert spec["securityGroupSelectorTerms"] == [{"id": "sg-1"}]
    subnet_tags = spec["subnetSelectorTerms"][0]["tags"]
    assert subnet_tags["kubernetes.io/role/internal-elb"] == "1"
    assert "kubernetes.io/cluster/mlsys-dev" in subnet_tags


def test_pools_consolidate_have_limits_and_only_training_takes_spot_behind_a_taint():
    dev = {w.name: w for w in default_classes(is_prod=False)}
    prod = {w.name: w for w in default_classes(is_prod=True)}
    assert prod["general"].cpu_limit > dev["general"].cpu_limit
    general, training = build_node_pool(dev["general"]), build_node_pool(dev["training"])
    for pool in (general, training):
        assert pool["apiVersion"] == "karpenter.sh/v1"
        assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
        assert pool["spec"]["limits"]["cpu"] and pool["spec"]["limits"]["memory"].endswith("Gi")
        assert pool["spec"]["template"]["spec"]["nodeClassRef"]["name"] == pool["metadata"]["name"]

    def capacity(pool):
        reqs = pool["spec"]["template"]["spec"]["requirements"]
        return next(r["values"] for r in reqs if r["key"] == "karpenter.sh/capacity-type")

    assert capacity(general) == ["on-demand"] and "spot" in capacity(training)
    assert "taints" not in general["spec"]["template"]["spec"]
    assert training["spec"]["template"]["spec"]["taints"] == [TRAINING_TAINT]
