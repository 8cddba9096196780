"""The add-on table: five managed add-ons, ordered, with Pod Identity where AWS access is needed."""

from __future__ import annotations

import json

from infra.foundation.cluster_addons import ADDONS, vpc_cni_configuration
from infra.foundation.service_accounts import EBS_CSI, VPC_CNI


def test_each_addon_waits_only_for_addons_declared_before_it():
    seen: set[str] = set()
    for spec in ADDONS:
        assert set(spec.after_addons) <= seen, spec.name
        seen.add(spec.name)
    assert len(seen) == len(ADDONS) == 5


def test_network_policy_is_on_in_the_cni():
    configuration = json.loads(vpc_cni_configuration())
    assert configuration["enableNetworkPolicy"] == "true"
    # Security groups for pods: only labelled database clients reach PostgreSQL.
    assert configuration["env"]["ENABLE_POD_ENI"] == "true"


def test_the_plan_has_every_addon_with_its_identity(plans):
    plan = plans["prod"]
    addons = {a.inputs["addonName"]: a.inputs for a in plan.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {spec.name for spec in ADDONS}
    assert addons["vpc-cni"]["configurationValues"] == vpc_cni_configuration()
    roles = {
        r.name: r.inputs["assumeRolePolicy"]
        for r in plan.of_type("aws:iam/role:Role")
        if r.name.startswith("mlsys-prod-cluster-")
    }
    for name, account in (("vpc-cni", VPC_CNI), ("aws-ebs-csi-driver", EBS_CSI)):
        (association,) = addons[name]["podIdentityAssociations"]
        assert association["serviceAccount"] == account.service_account
        assert association["roleArn"].startswith("arn:aws:iam::777788889999:role/")
    for role in ("mlsys-prod-cluster-vpc-cni-role", "mlsys-prod-cluster-ebs-csi-role"):
        (statement,) = json.loads(roles[role])["Statement"]
        assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == (
            "arn:aws:eks:eu-west-1:777788889999:cluster/mlsys-prod"
        )
    others = {"coredns", "kube-proxy", "eks-pod-identity-agent"}
    assert all("podIdentityAssociations" not in addons[name] for name in others)


def test_the_plan_orders_addons_as_the_table_says(plans):
    plan = plans["prod"]

    def waits_for(key: str):
        return plan.dependency_names(f"mlsys-prod-cluster-{key}")

    nodes = {"mlsys-prod-cluster-system-nodes", "mlsys-prod-cluster-workload-nodes"}
    assert "mlsys-prod-cluster-pod-identity-agent" in waits_for("vpc-cni")
    assert nodes <= waits_for("coredns") and nodes <= waits_for("ebs-csi")
    assert not nodes & waits_for("kube-proxy")
    assert "mlsys-prod-cluster-ebs-csi" in waits_for("gp3")  # the StorageClass needs the driver
