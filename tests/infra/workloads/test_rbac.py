"""RBAC in every stack's plan: one account per workload, every cluster admin documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.foundation.workload_identity import WORKLOADS
from infra.offline.manifests import to_manifest
from infra.platform.namespaces import APP_NAMESPACES
from infra.stack_file import STACKS
from infra.workloads import airflow_values as af

INFRASTRUCTURE = Path(__file__).resolve().parents[3] / "docs" / "infrastructure.md"
# Principal (EKS access entry name suffix, or a binding's subject) -> why it is cluster admin.
# docs/infrastructure.md "Cluster access" must name each; nothing else may be cluster admin.
DOCUMENTED_CLUSTER_ADMINS = {
    "admin": "break-glass operator (`adminRoleArn`)",
    "deploy": "the CI deploy role creates cluster-scoped objects",
}
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def _manifests(plan):
    return [to_manifest(r) for r in plan.resources if r.is_kubernetes]


@pytest.mark.parametrize("stack", STACKS)
def test_no_cluster_admin_binding_that_is_not_documented(plans, stack):
    plan = plans[stack]
    bindings = [m for m in _manifests(plan) if m["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    for binding in bindings:
        assert binding["roleRef"]["name"] != "cluster-admin", binding["metadata"]
    admins = [
        r
        for r in plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if r.inputs["policyArn"] == CLUSTER_ADMIN_POLICY
    ]
    kinds = sorted(
        r.name.removeprefix(f"mlsys-{stack}-cluster-access-").split("-")[0] for r in admins
    )
    assert kinds == sorted(DOCUMENTED_CLUSTER_ADMINS)
    docs = INFRASTRUCTURE.read_text()
    assert "| `adminRoleArn` | cluster admin |" in docs
    assert "| the deploy role | cluster admin |" in docs
    for release in plan.of_type("kubernetes:helm.sh/v3:Release"):
        assert "cluster-admin" not in str(release.inputs.get("values")), release.name


def test_airflow_launches_pods_only_in_its_own_namespace():
    values = af.build_airflow_values(
        af.AirflowSettings(
            image="a:1",
            training_image="t:1",
            aws_cli_image="c:1",
            region="eu-west-1",
            host="h",
            schedule="@daily",
            datasets_bucket="b",
            signing_key_arn="k",
            replicas=1,
        )
    )
    # The chart's pod-launcher is a Role in the release namespace unless multiNamespaceMode.
    assert values["multiNamespaceMode"] is False and values["rbac"]["create"] is True
    assert values["config"]["kubernetes_executor"]["namespace"] == af.NAMESPACE


@pytest.mark.parametrize("stack", STACKS)
def test_one_service_account_per_workload_and_no_token_unless_it_calls_the_api(plans, stack):
    manifests = _manifests(plans[stack])
    accounts = {
        (m["metadata"]["namespace"], m["metadata"]["name"]): m
        for m in manifests
        if m["kind"] == "ServiceAccount"
    }
    for (namespace, _), account in accounts.items():
        if namespace in APP_NAMESPACES:
            assert account["automountServiceAccountToken"] is False
    pods = [
        (m["metadata"]["namespace"], m["spec"]["template"]["spec"])
        for m in manifests
        if m["kind"] in ("Deployment", "Job") and m["metadata"]["namespace"] in APP_NAMESPACES
    ]
    assert pods
    identities = {(ref.namespace, ref.service_account) for ref in WORKLOADS.values()}
    for namespace, pod in pods:
        assert pod["automountServiceAccountToken"] is False
        assert (namespace, pod["serviceAccountName"]) in accounts
        assert (namespace, pod["serviceAccountName"]) in identities  # Pod Identity bound
