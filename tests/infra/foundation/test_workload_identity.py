"""Workload identities: one Pod Identity role per workload, scoped to its own ARNs."""

from __future__ import annotations

import json

from infra.foundation import service_accounts as accounts


def test_each_workload_service_account_gets_one_association(plans):
    associations = {
        (a.inputs["namespace"], a.inputs["serviceAccount"])
        for a in plans["prod"].of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    expected = (accounts.MLFLOW, accounts.TRAINING, accounts.SERVING, accounts.VELERO)
    assert associations == {
        (ref.namespace, ref.service_account) for ref in (*expected, accounts.VAULT)
    }


def test_pod_identities_are_least_privilege(plans):
    plan = plans["prod"]
    by_name = {
        p.name: json.loads(p.inputs["policy"])
        for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    serving = by_name["mlsys-prod-identity-serving-policy"]
    actions = {a for s in serving["Statement"] for a in s["Action"]}
    assert "s3:PutObject" not in actions and "s3:GetObject" in actions
    resources = {r for s in serving["Statement"] for r in s["Resource"]}
    assert any(r.startswith("arn:aws:s3:::mlsys-prod-mlflow-artifacts-") for r in resources)
    assert not any(r.startswith("arn:aws:s3:::mlsys-prod-datasets-") for r in resources)
    vault = by_name["mlsys-prod-identity-vault-policy"]
    assert vault["Statement"][0]["Resource"] == [plan.outputs["vaultUnsealKeyArn"]]
