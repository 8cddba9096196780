"""Every pod that takes AWS credentials from Pod Identity can reach the agent through its
NetworkPolicies: an egress policy without that rule leaves the AWS CLI or SDK without
credentials, which no offline check of the objects alone would notice."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from infra.offline.plan import Plan
from infra.platform.kube import POD_IDENTITY_AGENT
from infra.stack_file import STACKS

AGENT = ipaddress.ip_network(POD_IDENTITY_AGENT)
# Where each kind keeps its pod template.
TEMPLATES = {
    "kubernetes:batch/v1:Job": ("spec", "template"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template"),
    "kubernetes:apps/v1:Deployment": ("spec", "template"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template"),
}


def _pods(plan: Plan) -> list[tuple[str, str, str, dict[str, str]]]:
    """(object name, namespace, service account, pod labels) of every declared pod template."""
    pods = []
    for kind, path in TEMPLATES.items():
        for resource in plan.of_type(kind):
            template: Any = resource.inputs
            for key in path:
                template = template[key]
            spec = template["spec"]
            pods.append(
                (
                    resource.name,
                    resource.inputs["metadata"]["namespace"],
                    spec.get("serviceAccountName", "default"),
                    template.get("metadata", {}).get("labels", {}),
                )
            )
    return pods


def _selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    wanted = policy["spec"].get("podSelector", {}).get("matchLabels", {})
    return all(labels.get(k) == v for k, v in wanted.items())


def _reaches_agent(rule: dict[str, Any]) -> bool:
    ports = rule.get("ports")
    if ports and not any(p.get("port") == 80 and p.get("protocol", "TCP") == "TCP" for p in ports):
        return False
    peers = rule.get("to")
    if not peers:
        return True
    for peer in peers:
        block = peer.get("ipBlock")
        if block and AGENT.subnet_of(ipaddress.ip_network(block["cidr"])):  # type: ignore[arg-type]
            excluded = [ipaddress.ip_network(c) for c in block.get("except", [])]
            if not any(AGENT.subnet_of(e) for e in excluded):  # type: ignore[arg-type]
                return True
    return False


@pytest.mark.parametrize("stack", STACKS)
def test_pods_with_pod_identity_can_reach_its_agent(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    associations = {
        (r.inputs["namespace"], r.inputs["serviceAccount"])
        for r in plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    policies = [r.inputs for r in plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")]
    checked, cut_off = [], []
    for name, namespace, account, labels in _pods(plan):
        if (namespace, account) not in associations:
            continue
        limiting = [
            p
            for p in policies
            if p["metadata"]["namespace"] == namespace
            and "Egress" in p["spec"].get("policyTypes", [])
            and _selects(p, labels)
        ]
        if not limiting:
            continue  # no egress policy selects the pod: nothing is cut off
        checked.append(name)
        rules = [rule for p in limiting for rule in p["spec"].get("egress") or []]
        if not any(_reaches_agent(rule) for rule in rules):
            cut_off.append(f"{name} ({namespace}/{account})")
    assert not cut_off, f"Pod Identity agent unreachable for: {cut_off}"
    # The check saw the pods it is for: the database Jobs and the workloads.
    assert any("db-bootstrap" in n for n in checked) and any("db-backup" in n for n in checked)
    assert any("prediction-api" in n for n in checked)


def test_the_check_catches_a_policy_without_the_agent_rule() -> None:
    rule_dns = {"ports": [{"protocol": "UDP", "port": 53}]}
    rule_https = {"ports": [{"protocol": "TCP", "port": 443}]}
    agent = {"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT}}], "ports": [{"port": 80}]}
    everywhere = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}]}
    assert not any(_reaches_agent(r) for r in (rule_dns, rule_https, everywhere))
    assert _reaches_agent(agent) and _reaches_agent({}) and _reaches_agent({"to": []})
