"""The program's wiring, run for every stack under mocks: layers, components and outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from infra.offline.mocks import PlanMocks
from infra.offline.plan import SECRET, Plan, run_plan
from infra.stack_file import REPO_ROOT, STACKS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "outputs.md"
# Component -> the type token stacks deployed before the layer folders know it by.
COMPONENTS = {
    "mlsys:foundation:Network": "mlsys:network:Network",
    "mlsys:foundation:CiIdentity": "mlsys:identity:CiIdentity",
    "mlsys:foundation:Cluster": "mlsys:cluster:Cluster",
    "mlsys:foundation:ObjectStorage": "mlsys:storage:ObjectStorage",
    "mlsys:foundation:Database": "mlsys:database:Database",
    "mlsys:foundation:ImageRepositories": "mlsys:registry:ContainerRegistry",
    "mlsys:foundation:WorkloadIdentities": "mlsys:identity:WorkloadIdentities",
    "mlsys:platform:DatabaseBootstrap": None,  # new in the layer folders
    "mlsys:platform:Namespaces": None,
    "mlsys:platform:EdgeGateway": None,
    "mlsys:platform:Monitoring": None,
    "mlsys:platform:Vault": None,
    "mlsys:platform:ClusterOperations": None,
    "mlsys:platform:Logging": None,
    "mlsys:workloads:Mlflow": None,
    "mlsys:workloads:Airflow": None,
    "mlsys:workloads:PredictionApi": None,
    "mlsys:foundation:KarpenterFoundation": None,
    "mlsys:platform:Karpenter": None,
    "mlsys:platform:PostgresExporter": None,
}


@pytest.mark.parametrize("stack", STACKS)
def test_exactly_the_documented_outputs_and_secrets_stay_secret(plans, stack):
    documented = re.findall(r"^\| `(\w+)` \|", DOCS.read_text(), re.MULTILINE)
    outputs = plans[stack].outputs
    assert sorted(documented) == sorted(outputs)
    assert outputs["kubeconfig"] == SECRET
    assert outputs["environment"] == stack
    assert len(outputs["privateSubnetIds"]) == 3
    # The map only grows: keys are added, never renamed or removed.
    assert set(outputs["publicHosts"]) == {"api", "mlflow", "grafana", "kibana", "airflow"}
    # cert-manager's DNS-01 role exists where mlsys:hostedZoneId is set (prod's stack file).
    assert set(outputs["podIdentityRoleArns"]) == {
        "mlflow",
        "training",
        "serving",
        "velero",
        "vault",
        "airflow",
        "db-bootstrap",
        "db-backup",
        "postgres-exporter",
        *(["cert-manager"] if stack == "prod" else []),
    }


@pytest.mark.parametrize("stack", STACKS)
def test_no_password_exists_in_the_program_or_the_cluster(plans, stack):
    """RDS keeps the master password in Secrets Manager; state, plans and the cluster never
    hold it, and no generated password or Secret object exists to leak."""
    plan = plans[stack]
    rds = plan.one("aws:rds/instance:Instance").inputs
    assert rds["manageMasterUserPassword"] is True and "password" not in rds
    assert rds["masterUserSecretKmsKeyId"].startswith("arn:aws:kms:")
    assert not plan.of_type("random:index/randomPassword:RandomPassword")
    assert not plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert not plan.of_type("kubernetes:core/v1:Secret")
    # The only secret input left is the kubeconfig the Kubernetes provider is handed.
    masked = [r.name for r in plan.resources if SECRET in json.dumps(r.inputs)]
    assert masked == [f"mlsys-{stack}-cluster-k8s"]


def test_the_program_refuses_another_accounts_credentials(tmp_path):
    """Prod's config with dev's account: the run stops before declaring anything."""
    document = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())
    document["config"]["mlsys:accountId"] = "111122223333"
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    mocks = PlanMocks(region="eu-west-1", account_id="777788889999")
    with pytest.raises(Exception, match="mlsys:accountId is 111122223333"):
        run_plan("prod", root=tmp_path, mocks=mocks)


def _components(plan: Plan) -> dict[str, str]:
    return {r.urn: r.type for r in plan.resources if r.type.startswith("mlsys:")}


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_belongs_to_a_component_of_a_layer(plans, stack):
    plan = plans[stack]
    components = _components(plan)
    assert sorted(components.values()) == sorted(COMPONENTS)
    chain = {r.urn: r.parent for r in plan.resources}
    for resource in plan.resources:
        if resource.type.startswith("mlsys:"):
            assert resource.parent.endswith(f"pulumi:pulumi:Stack::mlsys-{stack}")
            continue
        ancestor = resource.parent
        while ancestor not in components:
            assert ancestor in chain, f"{resource.type} {resource.name} is not under a component"
            ancestor = chain[ancestor]


def test_renamed_components_alias_their_former_type(plans):
    for resource in plans["prod"].resources:
        if resource.type in COMPONENTS:
            former = COMPONENTS[resource.type]
            assert resource.aliases == ([f"type={former}"] if former else []), resource.type


def test_only_the_cluster_layers_talk_to_kubernetes_besides_the_cluster(plans):
    plan = plans["prod"]
    components = _components(plan)
    parents = {r.urn: r.parent for r in plan.resources}
    for resource in plan.resources:
        if not resource.type.startswith("kubernetes:") or "providers" in resource.type:
            continue
        owner = resource.parent
        while owner not in components:
            owner = parents[owner]
        assert components[owner] == "mlsys:foundation:Cluster" or components[owner].startswith(
            ("mlsys:platform:", "mlsys:workloads:")
        )
        assert resource.provider and "::mlsys-prod-cluster-k8s::" in resource.provider
