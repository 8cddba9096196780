"""Workload identities: one Pod Identity role per workload, scoped to its own ARNs."""

from __future__ import annotations

import json

from infra.foundation import service_accounts as accounts
from infra.foundation.database import MONITORING_USER
from infra.foundation.karpenter import KARPENTER
from infra.foundation.workload_identity import WORKLOADS


def test_each_workload_service_account_gets_one_association(plans):
    associations = {
        (a.inputs["namespace"], a.inputs["serviceAccount"])
        for a in plans["prod"].of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    expected = {(ref.namespace, ref.service_account) for ref in WORKLOADS.values()}
    # Karpenter's controller role lives with its own foundation component.
    expected.add((KARPENTER.namespace, KARPENTER.service_account))
    # prod's stack file sets mlsys:hostedZoneId: cert-manager gets its DNS-01 role there.
    cert_manager = accounts.CERT_MANAGER
    assert associations == expected | {(cert_manager.namespace, cert_manager.service_account)}
    dev = {
        (a.inputs["namespace"], a.inputs["serviceAccount"])
        for a in plans["dev"].of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    assert dev == expected
    assert {accounts.MLFLOW, accounts.AIRFLOW, accounts.DB_BOOTSTRAP} <= set(WORKLOADS.values())


def test_app_users_connect_with_iam_and_the_bootstrap_reads_only_the_secret(plans):
    plan = plans["prod"]
    policies = {
        p.name.removeprefix("mlsys-prod-identity-").removesuffix("-policy"): json.loads(
            p.inputs["policy"]
        )
        for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.name.startswith("mlsys-prod-identity-")
    }
    connects = {
        purpose: [
            r for s in doc["Statement"] if "rds-db:connect" in s["Action"] for r in s["Resource"]
        ]
        for purpose, doc in policies.items()
    }
    assert [r.rsplit("/", 1)[1] for r in connects["mlflow"]] == ["mlflow"]
    assert [r.rsplit("/", 1)[1] for r in connects["airflow"]] == ["airflow"]
    # postgres-exporter signs in as the read-only monitoring user, never as an app.
    assert [r.rsplit("/", 1)[1] for r in connects["postgres-exporter"]] == [MONITORING_USER]
    # The backup reads the registry database as its owner; it writes only dumps to S3.
    assert [r.rsplit("/", 1)[1] for r in connects["db-backup"]] == ["mlflow"]
    backup = {a for st in policies["db-backup"]["Statement"] for a in st["Action"]}
    assert backup == {"s3:PutObject", "kms:GenerateDataKey", "kms:Encrypt", "rds-db:connect"}
    signing_in = ("mlflow", "airflow", "postgres-exporter", "db-backup")
    assert all(not v for k, v in connects.items() if k not in signing_in)
    bootstrap = policies["db-bootstrap"]["Statement"]
    assert bootstrap[0]["Resource"] == [plan.outputs["databaseSecretArn"]]
    assert {a for s in bootstrap for a in s["Action"]} == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "kms:Decrypt",
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


def test_cert_manager_may_only_write_acme_txt_records_in_the_configured_zone(plans):
    policy = json.loads(
        plans["prod"].named("mlsys-prod-identity-cert-manager-policy").inputs["policy"]
    )
    change, listing, get_change = policy["Statement"]
    assert change["Action"] == ["route53:ChangeResourceRecordSets"]
    assert change["Resource"] == ["arn:aws:route53:::hostedzone/Z0EXAMPLE1234567890"]
    names = change["Condition"]["ForAllValues:StringLike"]
    assert names == {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"]}
    types = change["Condition"]["ForAllValues:StringEquals"]
    assert types == {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}
    assert listing["Resource"] == change["Resource"]
    assert get_change["Resource"] == ["arn:aws:route53:::change/*"]
    deps = plans["prod"].dependency_names("mlsys-prod-edge-cert-manager")
    assert "mlsys-prod-identity-cert-manager-association" in deps
