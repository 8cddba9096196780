"""The real program, run for every stack under mocks: what each component declares."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.offline.plan import SECRET, Plan, Resource, to_json
from infra.stack_file import STACKS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "outputs.md"
ENVIRONMENTS = {stack: stack for stack in STACKS}


def one(plan: Plan, typ: str) -> Resource:
    found = plan.of_type(typ)
    assert len(found) == 1, (typ, [r.name for r in found])
    return found[0]


def policy(resource: Resource) -> dict:
    return json.loads(resource.inputs["policy"])


@pytest.mark.parametrize("stack", STACKS)
def test_documented_outputs_exist_and_secrets_stay_secret(plans, stack):
    documented = re.findall(r"^\| `(\w+)` \|", DOCS.read_text(), re.MULTILINE)
    assert len(documented) >= 19
    outputs = plans[stack].outputs
    assert sorted(set(documented) - set(outputs)) == []
    assert outputs["kubeconfig"] == SECRET
    assert outputs["environment"] == stack
    assert len(outputs["privateSubnetIds"]) == 3
    assert set(outputs["podIdentityRoleArns"]) == {
        "mlflow",
        "training",
        "serving",
        "velero",
        "vault",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_never_holds_a_secret_value(plans, stack):
    text = json.dumps(to_json(plans[stack]))
    assert "mock-password" not in text
    rds = one(plans[stack], "aws:rds/instance:Instance")
    assert rds.inputs["password"] == SECRET
    version = one(plans[stack], "aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretString"] == SECRET


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_belongs_to_a_component(plans, stack):
    components = {r.urn for r in plans[stack].resources if r.type.startswith("mlsys:")}
    assert len(components) == 7
    for resource in plans[stack].resources:
        if resource.type.startswith("mlsys:"):
            assert resource.parent.endswith(f"pulumi:pulumi:Stack::mlsys-{stack}")
            continue
        ancestor = resource.parent
        chain = {r.urn: r.parent for r in plans[stack].resources}
        while ancestor not in components:
            assert ancestor in chain, f"{resource.type} {resource.name} is not under a component"
            ancestor = chain[ancestor]


def test_network_layout_and_nat_per_environment(plans):
    for stack, nat in (("dev", 1), ("staging", 1), ("prod", 3)):
        plan = plans[stack]
        subnets = plan.of_type("aws:ec2/subnet:Subnet")
        tiers = sorted(s.inputs["tags"]["tier"] for s in subnets)
        assert tiers == ["database"] * 3 + ["private"] * 3 + ["public"] * 3
        assert len({s.inputs["availabilityZone"] for s in subnets}) == 3
        assert len(plan.of_type("aws:ec2/natGateway:NatGateway")) == nat
        assert one(plan, "aws:ec2/flowLog:FlowLog").inputs["trafficType"] == "ALL"
        endpoints = {
            e.inputs["serviceName"].split(".")[-1]
            for e in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        }
        interface = stack != "dev"  # interfaceEndpoints is off in dev to save cost
        assert endpoints == ({"s3", "api", "dkr", "sts", "logs"} if interface else {"s3"})
        assert all(not s.inputs["mapPublicIpOnLaunch"] for s in subnets)


def test_cluster_access_encryption_logs_nodes_and_addons(plans):
    plan = plans["prod"]
    cluster = one(plan, "aws:eks/cluster:Cluster")
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
    assert cluster.inputs["vpcConfig"]["publicAccessCidrs"] == ["192.0.2.0/24", "198.51.100.0/24"]
    principals = {e.inputs["principalArn"] for e in plan.of_type("aws:eks/accessEntry:AccessEntry")}
    assert "arn:aws:iam::111122223333:role/platform-admin" in principals
    assert "arn:aws:iam::111122223333:role/mlsys-prod-github-deploy" in principals
    groups = {
        g.inputs["labels"]["mlsys.io/node-role"]: g
        for g in plan.of_type("aws:eks/nodeGroup:NodeGroup")
    }
    assert set(groups) == {"system", "workload"}
    assert all(g.inputs["amiType"] == "AL2023_x86_64_STANDARD" for g in groups.values())
    assert groups["workload"].inputs["scalingConfig"]["maxSize"] == 20
    addons = {a.inputs["addonName"]: a for a in plan.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {
        "vpc-cni",
        "coredns",
        "kube-proxy",
        "aws-ebs-csi-driver",
        "eks-pod-identity-agent",
    }
    assert json.loads(addons["vpc-cni"].inputs["configurationValues"]) == {
        "enableNetworkPolicy": "true"
    }
    templates = plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert all(t.inputs["metadataOptions"]["httpTokens"] == "required" for t in templates)
    storage_class = one(plan, "kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage_class.inputs["parameters"] == {
        "type": "gp3",
        "encrypted": "true",
        "fsType": "ext4",
    }
    assert (
        storage_class.inputs["metadata"]["annotations"][
            "storageclass.kubernetes.io/is-default-class"
        ]
        == "true"
    )


def test_node_sizes_follow_the_stack_config(plans):
    def sizes(stack):
        return {
            g.inputs["labels"]["mlsys.io/node-role"]: g.inputs["scalingConfig"]
            for g in plans[stack].of_type("aws:eks/nodeGroup:NodeGroup")
        }

    assert sizes("dev")["workload"] == {"minSize": 1, "desiredSize": 2, "maxSize": 4}
    assert sizes("prod")["system"] == {"minSize": 3, "desiredSize": 3, "maxSize": 4}


def test_buckets_are_private_encrypted_versioned_and_replicated_in_prod(plans):
    for stack in STACKS:
        plan = plans[stack]
        buckets = plan.of_type("aws:s3/bucket:Bucket")
        replicas = [b for b in buckets if "-replica-" in b.inputs["bucket"]]
        assert len(buckets) - len(replicas) == 3
        assert len(replicas) == (3 if stack == "prod" else 0)
        assert all(b.inputs["region"] == "eu-central-1" for b in replicas)
        for block in plan.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
            assert all(
                block.inputs[k]
                for k in (
                    "blockPublicAcls",
                    "blockPublicPolicy",
                    "ignorePublicAcls",
                    "restrictPublicBuckets",
                )
            )
        for enc in plan.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        ):
            default = enc.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
            assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"]
        rules = plan.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
        assert len(rules) == (3 if stack == "prod" else 0)


def test_database_differs_by_environment_and_is_private(plans):
    dev = one(plans["dev"], "aws:rds/instance:Instance").inputs
    prod = one(plans["prod"], "aws:rds/instance:Instance").inputs
    assert (dev["multiAz"], prod["multiAz"]) == (False, True)
    assert (dev["deletionProtection"], prod["deletionProtection"]) == (False, True)
    assert (dev["backupRetentionPeriod"], prod["backupRetentionPeriod"]) == (3, 30)
    assert (dev["skipFinalSnapshot"], prod["skipFinalSnapshot"]) == (True, False)
    assert prod["finalSnapshotIdentifier"] == "mlsys-prod-postgres-final"
    for rds in (dev, prod):
        assert rds["storageEncrypted"] and rds["kmsKeyId"] and not rds["publiclyAccessible"]
        assert rds["performanceInsightsEnabled"] and rds["engineVersion"] == "17"
        assert rds["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    params = one(plans["prod"], "aws:rds/parameterGroup:ParameterGroup").inputs["parameters"]
    assert {"name": "rds.force_ssl", "value": "1"} in params
    group = next(
        g
        for g in plans["prod"].of_type("aws:ec2/securityGroup:SecurityGroup")
        if g.name.endswith("-db-sg")
    )
    ingress = group.inputs["ingress"]
    assert len(ingress) == 1 and ingress[0]["fromPort"] == 5432
    assert ingress[0]["securityGroups"][0].startswith("sg-") and "cidrBlocks" not in ingress[0]
    job = one(plans["prod"], "kubernetes:batch/v1:Job")
    script = next(
        e["value"]
        for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
        if e["name"] == "CREATE_DATABASES"
    )
    assert "CREATE DATABASE airflow" in script and "CREATE DATABASE mlflow" in script


def test_registry_repositories_are_immutable_and_scanned(plans):
    repos = plans["prod"].of_type("aws:ecr/repository:Repository")
    assert sorted(r.inputs["name"] for r in repos) == ["mlsys-prod-app", "mlsys-prod-training"]
    for repo in repos:
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}


def test_pod_identities_are_least_privilege(plans):
    plan = plans["prod"]
    associations = {
        (a.inputs["namespace"], a.inputs["serviceAccount"])
        for a in plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    assert associations == {
        ("mlflow", "mlflow"),
        ("airflow", "ml-training"),
        ("serving", "prediction-api"),
        ("velero", "velero"),
        ("vault", "vault"),
    }
    by_name = {p.name: policy(p) for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")}
    serving = by_name["mlsys-prod-identity-serving-policy"]
    actions = {a for s in serving["Statement"] for a in s["Action"]}
    assert "s3:PutObject" not in actions and "s3:GetObject" in actions
    resources = {r for s in serving["Statement"] for r in s["Resource"]}
    assert any(r.startswith("arn:aws:s3:::mlsys-prod-mlflow-artifacts-") for r in resources)
    vault = by_name["mlsys-prod-identity-vault-policy"]
    assert vault["Statement"][0]["Resource"] == [plan.outputs["vaultUnsealKeyArn"]]


@pytest.mark.parametrize("stack", STACKS)
def test_ci_role_trusts_only_this_repository_and_environment(plans, stack):
    role = next(
        r
        for r in plans[stack].of_type("aws:iam/role:Role")
        if r.inputs.get("name") == f"mlsys-{stack}-github-deploy"
    )
    condition = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]
    assert condition["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
        f"repo:example-org/mlsys:environment:{stack}"
    )
    providers = plans[stack].of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert len(providers) == (1 if stack == "dev" else 0)  # staging/prod reuse the account's
