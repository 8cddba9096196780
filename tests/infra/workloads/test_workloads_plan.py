"""The workloads in each stack's plan: images by digest, scaling per stack, the canary."""

from __future__ import annotations

import pytest
import yaml

from infra.offline.manifests import to_manifest
from infra.offline.plan import run_plan
from infra.stack_file import REPO_ROOT, STACKS

CANARY = "777788889999.dkr.ecr.eu-west-1.amazonaws.com/mlsys-app@sha256:" + "c" * 64


def _objects(plan, kind: str, namespace: str) -> dict[str, dict]:
    manifests = [to_manifest(r) for r in plan.resources if r.is_kubernetes]
    return {
        m["metadata"]["name"]: m
        for m in manifests
        if m["kind"] == kind and m["metadata"].get("namespace") == namespace
    }


@pytest.mark.parametrize("stack", STACKS)
def test_the_api_scales_per_stack_without_a_canary_by_default(plans, stack):
    plan = plans[stack]
    hpas = _objects(plan, "HorizontalPodAutoscaler", "serving")
    assert set(hpas) == {"prediction-api"}
    bounds = {"dev": (1, 3), "staging": (2, 6), "prod": (3, 20)}[stack]
    spec = hpas["prediction-api"]["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == bounds
    route = _objects(plan, "HTTPRoute", "serving")["prediction-api"]
    assert [b["name"] for b in route["spec"]["rules"][0]["backendRefs"]] == ["prediction-api"]
    assert set(_objects(plan, "Deployment", "serving")) == {"prediction-api"}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_workload_image_is_pinned_by_digest_outside_dev(plans, stack):
    plan = plans[stack]
    for namespace in ("serving", "mlflow"):
        for kind in ("Deployment", "Job"):
            for obj in _objects(plan, kind, namespace).values():
                pod = obj["spec"]["template"]["spec"]
                for container in pod["containers"] + pod.get("initContainers", []):
                    assert "@sha256:" in container["image"], (obj["metadata"], container["name"])
    release = next(
        r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "airflow"
    )
    assert release.inputs["values"]["images"]["airflow"]["digest"].startswith("sha256:")


def test_a_canary_gets_its_own_backend_share_and_autoscaler(tmp_path):
    document = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())
    document["config"]["mlsys:canaryImage"] = CANARY
    document["config"]["mlsys:canaryWeight"] = 10
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    plan = run_plan("prod", root=tmp_path)
    deployments = _objects(plan, "Deployment", "serving")
    assert set(deployments) == {"prediction-api", "prediction-api-canary"}
    canary = deployments["prediction-api-canary"]["spec"]["template"]
    assert canary["metadata"]["labels"]["track"] == "canary"
    assert canary["spec"]["containers"][0]["image"] == CANARY
    route = _objects(plan, "HTTPRoute", "serving")["prediction-api"]
    weights = {b["name"]: b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]}
    assert weights == {"prediction-api": 90, "prediction-api-canary": 10}
    assert set(_objects(plan, "HorizontalPodAutoscaler", "serving")) == set(deployments)
    assert set(_objects(plan, "PodDisruptionBudget", "serving")) == set(deployments)
    assert set(_objects(plan, "Service", "serving")) == set(deployments)
