"""Network: three tiers over three AZs, NAT per config, endpoints, flow logs, closed default SG."""

from __future__ import annotations

import pytest

from infra.foundation.subnets import plan_subnets
from infra.stack_file import read_stack_file


@pytest.mark.parametrize(("stack", "nat"), [("dev", 1), ("staging", 1), ("prod", 3)])
def test_network_layout_and_nat_per_environment(plans, stack, nat):
    plan = plans[stack]
    subnets = plan.of_type("aws:ec2/subnet:Subnet")
    by_tier: dict[str, list[str]] = {}
    for subnet in subnets:
        by_tier.setdefault(subnet.inputs["tags"]["tier"], []).append(subnet.inputs["cidrBlock"])
    layout = plan_subnets(read_stack_file(stack)["mlsys:vpcCidr"])
    assert {tier: sorted(cidrs) for tier, cidrs in by_tier.items()} == {
        "public": sorted(layout.public),
        "private": sorted(layout.private),
        "database": sorted(layout.database),
    }
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 3
    assert all(not s.inputs["mapPublicIpOnLaunch"] for s in subnets)
    assert len(plan.of_type("aws:ec2/natGateway:NatGateway")) == nat
    assert plan.one("aws:ec2/flowLog:FlowLog").inputs["trafficType"] == "ALL"
    endpoints = {
        e.inputs["serviceName"].split(".")[-1]
        for e in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    interface = stack != "dev"  # interfaceEndpoints is off in dev to save cost
    private = {"s3", "api", "dkr", "sts", "logs", "eks-auth", "kms", "secretsmanager"}
    assert endpoints == (private if interface else {"s3"})
    group = plan.named(f"mlsys-{stack}-network-flow-logs")
    assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:")


def test_private_subnets_route_through_their_own_zones_nat_in_prod(plans):
    plan = plans["prod"]
    tables = [r for r in plan.of_type("aws:ec2/routeTable:RouteTable") if "-private-rt-" in r.name]
    nat_ids = {t.inputs["routes"][0]["natGatewayId"] for t in tables}
    assert len(tables) == 3 and len(nat_ids) == 3


def test_database_tier_has_no_route_out(plans):
    table = plans["prod"].named("mlsys-prod-network-database-rt")
    assert not table.inputs.get("routes")


def test_default_security_group_allows_nothing(plans):
    group = plans["prod"].one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not group.inputs.get("ingress") and not group.inputs.get("egress")
